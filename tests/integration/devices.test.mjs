// Devices, both kinds, seen the same way by browsers. d1 speaks MQTT itself (MQTT.js): its JSON
// telemetry on mqedge/v1/device/d1/telemetry reaches a browser whose token has devices ["d*"] and that
// sent {"op":"sub","device":"d1"}; a browser with cmd ["d1"] sends a cmd, and d1 receives an envelope on
// mqedge/v1/device/d1/cmd carrying the id/ts from the ok. d2 connects to edge e2 over WebSocket with a
// kind "device" token: its telemetry frames reach browsers on edge e1, and a browser's cmd to d2 arrives
// on the device's socket as {"op":"cmd","device":"d2",...}. Users without devices/cmd claims get
// forbidden; a device connection receives only its own commands.
import assert from 'node:assert/strict';
import { scenario, topics, nowSec, assertEnvelope } from './lib/harness.mjs';

scenario('MQTT and WebSocket devices: telemetry to browsers, cmd to devices', { timeout: 90000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await env.cluster(2);

  const watcher = await env.connect(e1, { user: 'watcher', extra: { devices: ['d*'] } });
  const operator = await env.connect(e1, { user: 'operator', extra: { cmd: ['d1', 'd2'] } });
  const nobody = await env.connect(e1, { user: 'nobody' });
  const narrow = await env.connect(e2, { user: 'narrow', extra: { devices: ['d1'], cmd: ['d1'] } });

  // Claims.
  await watcher.ok({ op: 'sub', device: 'd1' });
  await nobody.err({ op: 'sub', device: 'd1' }, 'forbidden');
  await nobody.err({ op: 'cmd', device: 'd1', data: { on: true } }, 'forbidden');
  await watcher.err({ op: 'cmd', device: 'd1', data: { on: true } }, 'forbidden'); // devices does not imply cmd
  await operator.err({ op: 'sub', device: 'd1' }, 'forbidden'); // cmd does not imply devices
  await narrow.err({ op: 'sub', device: 'd2' }, 'forbidden');
  await narrow.err({ op: 'cmd', device: 'd2', data: 1 }, 'forbidden');
  await watcher.err({ op: 'sub', device: 'x1' }, 'forbidden'); // d* does not match x1

  // --- d1 over MQTT: telemetry in.
  const d1 = await env.mqtt(broker, { name: 'd1', clientId: 'device-d1' });
  await d1.sub(topics.cmd('d1'));
  await env.syncTopic(topics.telemetry('d1'), [watcher]);
  const t0 = Date.now();
  await d1.pub(topics.telemetry('d1'), { temp: 21.5, unit: 'C' });
  const tel = await watcher.next((f) => f.op === 'telemetry' && f.data?.temp === 21.5, 10000, 'd1 telemetry');
  assert.equal(tel.device, 'd1');
  assert.deepEqual(tel.data, { temp: 21.5, unit: 'C' });
  assert.equal(typeof tel.id, 'string');
  assert.ok(tel.ts >= t0 - 60000 && tel.ts <= Date.now() + 60000);
  // Non-JSON telemetry is encoded like any other payload.
  await d1.pub(topics.telemetry('d1'), Buffer.from([0x00, 0xff, 0x10]));
  const telBin = await watcher.next((f) => f.op === 'telemetry' && f.enc === 'base64', 10000, 'binary telemetry');
  assert.deepEqual(Buffer.from(telBin.data, 'base64'), Buffer.from([0x00, 0xff, 0x10]));

  // --- d1 over MQTT: cmd out.
  const cmdOk = await operator.ok({ op: 'cmd', device: 'd1', data: { action: 'reboot', delay: 5 } });
  assert.equal(typeof cmdOk.id, 'string');
  const cmdMsg = await d1.next((m) => m.topic === topics.cmd('d1'), 10000, 'cmd envelope at the MQTT device');
  assertEnvelope(cmdMsg.json);
  assert.equal(cmdMsg.json.v, 1);
  assert.equal(cmdMsg.json.id, cmdOk.id);
  assert.equal(cmdMsg.json.ts, cmdOk.ts);
  assert.equal(cmdMsg.json.from, 'operator');
  assert.deepEqual(cmdMsg.json.data, { action: 'reboot', delay: 5 });

  // --- d2 over WebSocket on e2.
  const d2 = await env.connect(e2, { claims: { sub: 'd2', kind: 'device', exp: nowSec() + 3600 }, name: 'd2' });
  assert.equal(d2.welcome.kind, 'device');
  assert.equal(d2.welcome.user, 'd2');
  await watcher.ok({ op: 'sub', device: 'd2' });
  const spy = await env.mqtt(broker, { name: 'spy' });
  await spy.sub(topics.telemetry('d2'));
  // Wait until e1 is subscribed to d2's telemetry (probes) before the real telemetry.
  await env.syncTopic(topics.telemetry('d2'), [watcher]);
  const telOk = await d2.ok({ op: 'telemetry', data: { rpm: 1200 } });
  assert.equal(typeof telOk.id, 'string');
  assert.ok(Number.isInteger(telOk.ts));
  const tel2 = await watcher.next((f) => f.op === 'telemetry' && f.device === 'd2' && f.data?.rpm === 1200, 10000, 'd2 telemetry on the other edge');
  assert.deepEqual(tel2.data, { rpm: 1200 });
  await spy.next((m) => m.topic === topics.telemetry('d2') && JSON.stringify(m.json ?? null).includes('1200'), 10000, 'd2 telemetry on MQTT (QoS 1)');

  // A browser's cmd to d2 reaches the device socket on the other edge.
  await env.syncTopic(topics.cmd('d2'), [d2]);
  const c2 = await operator.ok({ op: 'cmd', device: 'd2', data: { led: 'on' } });
  const got = await d2.next((f) => f.op === 'cmd', 10000, 'cmd at the WebSocket device');
  assert.equal(got.device, 'd2');
  assert.equal(got.from, 'operator');
  assert.equal(got.id, c2.id);
  assert.equal(got.ts, c2.ts);
  assert.deepEqual(got.data, { led: 'on' });
  // Only its own commands: a cmd to d1 does not show up at d2.
  await operator.ok({ op: 'cmd', device: 'd1', data: { for: 'd1 only' } });
  await d1.next((m) => m.topic === topics.cmd('d1') && m.json?.data?.for === 'd1 only', 10000, 'second cmd at d1');
  await d2.none((f) => f.op === 'cmd', 300, 'a cmd for another device');

  // Unwatching stops telemetry.
  await watcher.ok({ op: 'unsub', device: 'd1' });
  await d1.pub(topics.telemetry('d1'), { temp: 99 });
  await watcher.none((f) => f.op === 'telemetry' && f.data?.temp === 99, 500, 'telemetry after unsub');
  // A user connection may not send telemetry.
  const bad = await watcher.request({ op: 'telemetry', data: 1 });
  assert.deepEqual([bad.op, bad.code], ['error', 'unknown_op']);
});
