// The harness checks itself, with no edge involved: a real mosquitto starts on a free 127.0.0.1 port and
// answers MQTT; a persistent MQTT session keeps its subscription across a SIGKILL of the broker and a
// restart on the same port with the same persistence directory, and a QoS 1 message published while
// that session was away is delivered after it returns; the JWT minting verifies with node:crypto; the raw
// WebSocket client and the frame queue behave against a small npm `ws` server, and a frame outside the
// schema is reported as a violation. If these fail, every other integration test is suspect.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHmac, verify as cryptoVerify, createPublicKey } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scenario, freePort, signJwt, makeKeyPair, RawWs, OP, delay } from './lib/harness.mjs';
import { openWs } from './lib/client.mjs';

scenario('broker starts on a free port, survives SIGKILL + restart with persistent sessions', { needsEdge: false, timeout: 60000 }, async (env) => {
  const broker = await env.startBroker();
  const other = await freePort();
  assert.notEqual(broker.port, other);

  const sub = await env.mqtt(broker, { name: 'sub', clientId: 'harness-sub', clean: false });
  await sub.sub('harness/t', 1);
  const pub = await env.mqtt(broker, { name: 'pub' });
  await pub.pub('harness/t', { n: 1 });
  const m1 = await sub.next((m) => m.topic === 'harness/t', 5000);
  assert.deepEqual(m1.json, { n: 1 });

  // The broker logs subscriptions (the auth test looks there for subscriptions of refused users).
  assert.match(broker.log(), /harness-sub 1 harness\/t/);

  const pid1 = broker.proc.pid;
  await sub.end();
  await pub.end();
  await broker.kill('SIGKILL');
  assert.equal(broker.proc.exit.signal, 'SIGKILL');
  await broker.restart();
  assert.notEqual(broker.proc.pid, pid1);

  // The subscription of the persistent session was saved before the kill: a message published while the
  // session is offline is queued and delivered when it reconnects.
  const pub2 = await env.mqtt(broker, { name: 'pub2' });
  await pub2.pub('harness/t', { n: 2 });
  const sub2 = await env.mqtt(broker, { name: 'sub2', clientId: 'harness-sub', clean: false });
  const m2 = await sub2.next((m) => m.topic === 'harness/t', 5000, 'queued message after restart');
  assert.deepEqual(m2.json, { n: 2 });

  // Retained messages survive a clean broker restart (SIGTERM saves the database; with SIGKILL the
  // last single change may not have been autosaved yet).
  await pub2.pub('harness/retained', 'x', { retain: true });
  await pub2.end();
  await sub2.end();
  await broker.kill('SIGTERM');
  assert.equal(broker.proc.exit.code, 0);
  await broker.restart();
  const sub3 = await env.mqtt(broker, { name: 'sub3' });
  await sub3.sub('harness/retained');
  const r = await sub3.next((m) => m.topic === 'harness/retained', 5000);
  assert.equal(r.retain, true);
  assert.equal(r.payload.toString(), 'x');
});

test('JWT minting: HS256, RS256, ES256 verify with node:crypto', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mqedge-jwt-'));
  try {
    const claims = { sub: 'alice', exp: 2000000000 };
    const hs = signJwt(claims, { alg: 'HS256', key: 's3cret' });
    const [h, p, s] = hs.split('.');
    assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url')), { alg: 'HS256', typ: 'JWT' });
    assert.deepEqual(JSON.parse(Buffer.from(p, 'base64url')), claims);
    assert.equal(s, createHmac('sha256', 's3cret').update(`${h}.${p}`).digest('base64url'));
    for (const alg of ['RS256', 'ES256']) {
      const kp = makeKeyPair(alg, dir);
      const tok = signJwt(claims, { alg, key: kp.privateKey });
      const [h2, p2, s2] = tok.split('.');
      const pub = createPublicKey(readFileSync(kp.publicKeyFile));
      const ok = cryptoVerify('sha256', Buffer.from(`${h2}.${p2}`), alg === 'ES256' ? { key: pub, dsaEncoding: 'ieee-p1363' } : pub, Buffer.from(s2, 'base64url'));
      assert.equal(ok, true, `${alg} signature verifies`);
      if (alg === 'ES256') assert.equal(Buffer.from(s2, 'base64url').length, 64, 'ES256 signature is raw r||s');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('raw client and frame queue against a tiny ws server', async () => {
  const port = await freePort();
  const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 1 << 20 });
  await new Promise((r) => wss.on('listening', r));
  const received = [];
  wss.on('connection', (sock, req) => {
    sock.send(JSON.stringify({ op: 'welcome', session: 's1', user: 'u', kind: 'user', edge: 'e1', ts: Date.now(), exp: null, limits: { max_frame: 65536, max_rooms: 64, rate: 100, burst: 200 } }));
    sock.on('message', (d, bin) => {
      received.push({ d: d.toString(), bin, url: req.url });
      const f = JSON.parse(d.toString());
      if (f.op === 'ping') sock.send(JSON.stringify({ op: 'pong', ref: f.ref, ts: Date.now() }));
      if (f.op === 'bad') sock.send(JSON.stringify({ op: 'msg', id: 'x', room: 'a/b', ts: 1, data: 1 }));
      if (f.op === 'pingme') sock.ping();
      if (f.op === 'close') sock.close(4002, 'slow');
    });
  });
  try {
    // ws client wrapper: welcome, request/reply by ref, schema violation detection.
    const { client } = await openWs(`ws://127.0.0.1:${port}/ws`, { token: 'abc', name: 'c' });
    assert.equal(client.welcome.op, 'welcome');
    const pong = await client.request({ op: 'ping' });
    assert.equal(pong.op, 'pong');
    assert.equal(received.at(-1).url, '/ws?token=abc');
    client.sendRaw({ op: 'bad' });
    await client.until((c) => c.violations.length > 0, 2000, 'violation');
    assert.match(client.violations[0], /room/);
    assert.throws(() => client.send({ op: 'sub', room: 'a/b' }), /outside the schema/);
    client.sendRaw({ op: 'pingme' });
    await client.until((c) => c.pings > 0, 2000, 'ping');
    client.sendRaw({ op: 'close' });
    const cl = await client.waitClose(2000);
    assert.equal(cl.code, 4002);

    // Raw client: handshake, masked text frames, server pings answered or not, close frame parsing.
    const raw = await RawWs.connect({ port, path: '/ws?token=x', autoPong: false });
    await raw.nextJson((f) => f.op === 'welcome', 2000);
    raw.sendJson({ op: 'ping', ref: 7 });
    const p = await raw.nextJson((f) => f.op === 'pong', 2000);
    assert.equal(p.ref, 7);
    raw.sendJson({ op: 'pingme' });
    await raw.waitFor((c) => c.pings > 0, 2000, 'ping');
    assert.equal(raw.frames.filter((f) => f.opcode === OP.pong).length, 0);
    raw.sendJson({ op: 'close' });
    const closed = await raw.waitClosed(2000);
    assert.equal(closed.closeFrame.code, 4002);
    raw.destroy();
    // A long text frame (16-bit and 64-bit length forms) arrives intact at a real server.
    const raw2 = await RawWs.connect({ port, path: '/ws' });
    const big = JSON.stringify({ op: 'x', pad: 'a'.repeat(70000) });
    raw2.sendText(big);
    const mid = JSON.stringify({ op: 'y', pad: 'b'.repeat(300) });
    raw2.sendText(mid);
    await delay(0);
    const deadline = Date.now() + 3000;
    while (received.filter((x) => x.d === big || x.d === mid).length < 2 && Date.now() < deadline) await delay(20);
    assert.equal(received.filter((x) => x.d === big || x.d === mid).length, 2);
    raw2.destroy();
  } finally {
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss.close(r));
  }
});
