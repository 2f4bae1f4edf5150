// The shared compressor (docs/ARCHITECTURE.md "Compression"): a session that negotiated
// permessage-deflate gets messages of deflate-min-bytes or more as compressed frames (RSV1), made
// once per message and the same bytes for every such member; each inflates on its own (no context
// from earlier messages), so clients that keep their context (npm ws, browsers) and clients that do
// not (the raw client here) read the same text. Smaller messages, sessions without the extension,
// offers that limit the server's window and --deflate-min-bytes 0 get plain frames. Chat and
// telemetry JSON of 300-1,000 bytes with emoji and CJK arrives intact everywhere, exactly once.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { scenario, topics, waitFor, httpGet, RawWs, OP } from './lib/harness.mjs';

const emoji = '😀🎉👍🏽';
const cjk = '你好世界こんにちは안녕하세요';
// deterministic chat and telemetry payloads, 300-1,000 bytes of JSON text
function chat(i) {
  const words = ['meeting', 'tomorrow', 'slides', 'coffee', 'deploy', 'review', 'lunch', cjk, emoji];
  const text = Array.from({ length: 20 + (i * 7) % 40 }, (_, k) => words[(i + k * 3) % words.length]).join(' ');
  return { kind: 'chat', text, mentions: ['alice', 'bob'], client_msg_id: `c-${i}`, reply_to: i % 3 ? null : `c-${i - 1}` };
}
function telemetry(i) {
  return {
    kind: 'telemetry', device: 'sensor-17', seq: i, temperature_c: 20 + (i % 50) / 10, humidity_pct: 40 + (i % 20),
    readings: Array.from({ length: 8 }, (_, k) => ({ sensor: `s${k}`, value: ((i * 31 + k * 17) % 1000) / 1000 })), note: `${cjk} ${emoji}`,
  };
}

const textFrames = (raw) => raw.frames.filter((f) => f.opcode === OP.text);
const rawMsgs = (raw) => textFrames(raw).map((f) => ({ f, j: JSON.parse(f.payload.toString('utf8')) })).filter((x) => x.j.op === 'msg');
const isProbe = (m) => m.data?.probe !== undefined;

async function openWs(env, edge, user, { perMessageDeflate }) {
  const ws = new WebSocket(`ws://127.0.0.1:${edge.port}/ws?token=${env.token(user, { rooms: ['z'] })}`, { perMessageDeflate });
  const frames = [];
  let answer = null;	// the server's Sec-WebSocket-Extensions
  ws.on('upgrade', (res) => { answer = res.headers['sec-websocket-extensions'] ?? ''; });
  ws.on('message', (m) => frames.push(JSON.parse(m)));
  await waitFor(() => frames.some((f) => f.op === 'welcome'), { what: `${user} welcome` });
  env.onCleanup(() => ws.terminate());
  return { ws, frames, user, answer };
}

scenario('negotiated sessions get messages from deflate-min-bytes compressed once per message, intact; others plain', { timeout: 60000 }, async (env) => {
  const broker = await env.startBroker();
  const edge = await env.startEdge({ broker });

  const zipped = await openWs(env, edge, 'zip', { perMessageDeflate: true }); // npm ws: offers like a browser
  const plain = await openWs(env, edge, 'plain', { perMessageDeflate: false });
  assert.match(zipped.ws.extensions, /permessage-deflate/);
  const rawZ = await RawWs.connect({ port: edge.port, path: `/ws?token=${env.token('rawz', { rooms: ['z'] })}`, deflate: true });
  const rawP = await RawWs.connect({ port: edge.port, path: `/ws?token=${env.token('rawp', { rooms: ['z'] })}` });
  // an offer that limits the server's window: lws accepts it without the limit, so plain frames
  const rawW = await RawWs.connect({
    port: edge.port, path: `/ws?token=${env.token('raww', { rooms: ['z'] })}`,
    headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; server_max_window_bits=10' },
  });
  env.onCleanup(() => [rawZ, rawP, rawW].forEach((r) => r.destroy()));
  assert.match(rawZ.extensions, /permessage-deflate/);

  for (const c of [zipped, plain]) c.ws.send(JSON.stringify({ op: 'sub', room: 'z', ref: 's' }));
  for (const r of [rawZ, rawP, rawW]) r.sendJson({ op: 'sub', room: 'z', ref: 's' });
  const probe = await env.mqtt(broker, { name: 'probe' });
  await waitFor(async () => {
    await probe.pub(topics.room('z'), { probe: 1 });
    return [zipped, plain].every((c) => c.frames.some((f) => f.op === 'msg')) && [rawZ, rawP, rawW].every((r) => rawMsgs(r).length);
  }, { timeoutMs: 10000, what: 'everyone subscribed' });
  const before = { z: rawMsgs(rawZ).length, p: rawMsgs(rawP).length, w: rawMsgs(rawW).length, zs: zipped.frames.length, ps: plain.frames.length };

  // 40 realistic messages (half chat, half telemetry) and 5 small ones, from a client
  const pub = await openWs(env, edge, 'pub', { perMessageDeflate: true });
  const sent = [];
  for (let i = 0; i < 45; i++) {
    const data = i < 40 ? (i % 2 ? telemetry(i) : chat(i)) : { t: `small ${i} ${emoji}` };
    sent.push(data);
    pub.ws.send(JSON.stringify({ op: 'pub', room: 'z', data, ref: `p${i}` }));
  }
  const want = sent.map((d) => JSON.stringify(d));
  const got = {
    zipped: () => zipped.frames.slice(before.zs).filter((f) => f.op === 'msg'),
    plain: () => plain.frames.slice(before.ps).filter((f) => f.op === 'msg'),
    rawZ: () => rawMsgs(rawZ).slice(before.z),
    rawP: () => rawMsgs(rawP).slice(before.p),
    rawW: () => rawMsgs(rawW).slice(before.w),
  };
  await waitFor(() => Object.values(got).every((g) => g().filter((x) => !isProbe(x.j ?? x)).length >= 45), { timeoutMs: 15000, what: '45 messages everywhere' });
  await new Promise((r) => setTimeout(r, 300));
  for (const [name, g] of Object.entries(got)) {
    const msgs = g().map((x) => x.j ?? x).filter((x) => !isProbe(x));
    assert.equal(msgs.length, 45, `${name}: exactly 45`);
    assert.deepEqual(msgs.map((m) => JSON.stringify(m.data)), want, `${name}: every message intact (emoji, CJK), in order`);
    assert.equal(new Set(msgs.map((m) => m.id)).size, 45, `${name}: nothing twice`);
  }
  // on the wire: the negotiated raw client got the 40 realistic ones compressed, the small ones plain
  const zf = got.rawZ().filter((x) => !isProbe(x.j));
  assert.deepEqual(zf.map((x) => x.f.rsv1), [...Array(40).fill(true), ...Array(5).fill(false)], 'RSV1 from deflate-min-bytes (256) only');
  for (const r of ['rawP', 'rawW']) assert.ok(got[r]().every((x) => !x.f.rsv1), `${r}: plain frames only`);
  assert.ok(textFrames(rawW).every((f) => !f.rsv1) && textFrames(rawP).every((f) => !f.rsv1), 'not one compressed frame to them');
  // each message compressed once for its three compressed members (zipped, rawZ, pub), 40 in all
  const m = (await httpGet(edge.port, '/metrics')).body;
  const num = (re) => Number(re.exec(m)[1]);
  const made = num(/^mqedge_deflate_messages_total\{outcome="compressed"\} (\d+)$/m);
  assert.ok(made >= 40 && made <= 42, `compressed once per message (${made}; a few probes and replies may be long enough)`);
  const ratio = num(/^mqedge_deflate_bytes_out_total (\d+)$/m) / num(/^mqedge_deflate_bytes_in_total (\d+)$/m);
  assert.ok(ratio < 0.75, `realistic JSON shrinks (out/in ${ratio.toFixed(2)})`);
});

scenario('--deflate-min-bytes 0: negotiated, but every frame plain', { timeout: 30000 }, async (env) => {
  const broker = await env.startBroker();
  const edge = await env.startEdge({ broker, extra: ['--deflate-min-bytes', '0'] });
  const raw = await RawWs.connect({ port: edge.port, path: `/ws?token=${env.token('r', { rooms: ['z'] })}`, deflate: true });
  env.onCleanup(() => raw.destroy());
  assert.match(raw.extensions, /permessage-deflate/, 'still negotiated: clients may send compressed');
  raw.sendJson({ op: 'sub', room: 'z', ref: 's' });
  const probe = await env.mqtt(broker, { name: 'probe' });
  await waitFor(async () => {
    await probe.pub(topics.room('z'), chat(1));
    return rawMsgs(raw).length >= 3;
  }, { timeoutMs: 10000, what: 'messages' });
  assert.ok(rawMsgs(raw).every((x) => !x.f.rsv1), 'no RSV1');
  assert.equal(JSON.stringify(rawMsgs(raw)[0].j.data), JSON.stringify(chat(1)));
});

// lws 4.1.6 applies server_no_context_takeover to its *inflater* of the client's messages (it swaps
// the two sides): a client that offered it and compresses with context takeover (allowed: the
// parameter binds the server) was cut off at its second similar message ("invalid distance too far
// back", 1006). The edge puts lws' inflater back to keeping its context after the upgrade.
scenario('a client offering server_no_context_takeover and compressing with context: every message read', { timeout: 30000 }, async (env) => {
  const broker = await env.startBroker();
  const edge = await env.startEdge({ broker });
  const c = await openWs(env, edge, 'snct', { perMessageDeflate: { serverNoContextTakeover: true, threshold: 0 } });
  assert.equal(c.answer, 'permessage-deflate; server_no_context_takeover');
  let closed = null;
  c.ws.on('close', (code) => { closed = code; });
  // the same long text each time: from the second on, npm ws refers back to the one before
  const pad = chat(3).text.repeat(4);
  for (let i = 0; i < 20; i++) c.ws.send(JSON.stringify({ op: 'ping', ref: `p${i}`, pad }));
  await waitFor(() => closed !== null || c.frames.filter((f) => f.op === 'pong').length >= 20, { what: '20 pongs' });
  assert.equal(closed, null, 'the connection stays');
  assert.deepEqual(c.frames.filter((f) => f.op === 'pong').map((f) => f.ref), Array.from({ length: 20 }, (_, i) => `p${i}`));
  // and it still gets compressed fan-out, read by the same ws with its own inflater
  c.ws.send(JSON.stringify({ op: 'sub', room: 'z', ref: 's' }));
  await waitFor(() => c.frames.some((f) => f.op === 'ok' && f.ref === 's'), { what: 'sub ok' });
  const probe = await env.mqtt(broker, { name: 'probe' });
  for (let i = 0; i < 5; i++) await probe.pub(topics.room('z'), chat(10 + i));
  await waitFor(() => c.frames.filter((f) => f.op === 'msg').length >= 5, { what: '5 msgs' });
  assert.deepEqual(c.frames.filter((f) => f.op === 'msg').map((f) => JSON.stringify(f.data)), Array.from({ length: 5 }, (_, i) => JSON.stringify(chat(10 + i))));
});

// lws 4.1.6 inflates a client's compressed message 1 KB at a time, straight from its shared read
// buffer, and came back for the rest after reading other connections into that buffer: the rest was
// inflated from their bytes (1007, 1009, or lws' assert aborting the edge). ws_session's guard
// (ws_deflate.c) copies the compressed bytes first. 24 clients publish 20 compressed 6 KB messages
// each, all at once; a subscriber must get all 480 intact, once, and nobody is closed.
scenario('24 clients publishing compressed 6 KB messages at once: all 480 arrive intact, once; nobody is closed', { timeout: 60000 }, async (env) => {
  const broker = await env.startBroker();
  const edge = await env.startEdge({ broker });
  const sub = await openWs(env, edge, 'reader', { perMessageDeflate: false });
  sub.ws.send(JSON.stringify({ op: 'sub', room: 'z', ref: 's' }));
  await waitFor(() => sub.frames.some((f) => f.op === 'ok' && f.ref === 's'), { what: 'sub ok' });
  const P = 24;
  const M = 20;
  const body = (p, k) => {
    const parts = [];
    for (let n = 0; parts.join(' ').length < 6000; n++) parts.push(chat(p * 31 + k * 7 + n).text, `#${p}.${k}.${n}`);
    return { kind: 'chat', from: `p${p}`, seq: k, text: parts.join(' ') };
  };
  const pubs = [];
  for (let p = 0; p < P; p++) pubs.push(await openWs(env, edge, `writer${p}`, { perMessageDeflate: { threshold: 0 } }));
  const closes = [];
  pubs.forEach((c, p) => c.ws.on('close', (code) => closes.push(`writer${p}: ${code}`)));
  for (let p = 0; p < P; p++) for (let k = 0; k < M; k++) pubs[p].ws.send(JSON.stringify({ op: 'pub', room: 'z', data: body(p, k), ref: `m${k}` }));
  await waitFor(() => closes.length || pubs.every((c) => c.frames.filter((f) => f.op === 'ok' || f.op === 'error').length >= M),
    { timeoutMs: 30000, what: 'every publish answered' });
  assert.deepEqual(closes, [], 'no client closed');
  for (const [p, c] of pubs.entries()) {
    assert.deepEqual(c.frames.filter((f) => f.op === 'error'), [], `writer${p}: no errors`);
    assert.deepEqual(c.frames.filter((f) => f.op === 'ok').map((f) => f.ref), Array.from({ length: M }, (_, k) => `m${k}`), `writer${p}: every publish ok, in order`);
  }
  await waitFor(() => sub.frames.filter((f) => f.op === 'msg').length >= P * M, { timeoutMs: 15000, what: `${P * M} messages at the reader` });
  await new Promise((r) => setTimeout(r, 300));
  const got = sub.frames.filter((f) => f.op === 'msg');
  assert.equal(got.length, P * M, 'nothing twice');
  const byKey = new Map(got.map((f) => [`${f.data.from}/${f.data.seq}`, f.data]));
  assert.equal(byKey.size, P * M, 'every (writer, seq) once');
  for (let p = 0; p < P; p++) for (let k = 0; k < M; k++) assert.deepEqual(byKey.get(`p${p}/${k}`), body(p, k), `p${p}/${k} intact`);
  assert.equal((await httpGet(edge.port, '/healthz')).status, 200);
});
