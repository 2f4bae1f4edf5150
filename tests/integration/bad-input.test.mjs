// Garbage from a client costs that client an error frame, never the edge. Malformed JSON, a JSON value
// that is not an object, an unknown op, missing or mistyped fields and a binary frame each get the
// documented error code and the connection stays (a ping afterwards gets its pong). Only three things
// close a connection here: a message larger than max-frame (1009, default 65536 bytes, and with
// --max-frame 1024), and a text frame that is not valid UTF-8 (1007, sent by a raw socket client because
// a real WebSocket library will not send one).
import assert from 'node:assert/strict';
import { scenario, OP } from './lib/harness.mjs';

const stillAlive = async (c) => {
  const p = await c.request({ op: 'ping' });
  assert.equal(p.op, 'pong', `${c.name} still answers`);
  assert.equal(c.closed, null);
};

scenario('malformed frames get error codes and the connection stays', { timeout: 60000 }, async (env) => {
  const { edges: [edge] } = await env.cluster(1);
  const c = await env.connect(edge, { user: 'fuzzy', extra: { rooms: ['*'] } });

  for (const text of ['{', '{"op":"ping"', 'nope', '', '{"op":"ping",}', "{'op':'ping'}"]) {
    c.sendRaw(text);
    const e = await c.next((f) => f.op === 'error', 5000, `error for ${JSON.stringify(text)}`);
    assert.equal(e.code, 'bad_json', `for ${JSON.stringify(text)}`);
    await stillAlive(c);
  }
  for (const text of ['[1,2]', '"ping"', '42', 'null', 'true']) {
    c.sendRaw(text);
    const e = await c.next((f) => f.op === 'error', 5000, `error for ${text}`);
    assert.equal(e.code, 'bad_json', `a JSON ${text} is not an object`);
    await stillAlive(c);
  }

  // Unknown op; ref echoed with its type.
  const u = await c.request({ op: 'dance', ref: 'u1' }, { raw: true });
  assert.deepEqual([u.op, u.code, u.ref], ['error', 'unknown_op', 'u1']);
  const un = await c.request({ op: 'dance', ref: 77 }, { raw: true });
  assert.equal(un.ref, 77, 'a numeric ref is echoed as a number');
  // telemetry is for device connections only.
  const tel = await c.request({ op: 'telemetry', data: 1 }, { raw: true });
  assert.deepEqual([tel.op, tel.code], ['error', 'unknown_op']);

  // No op, or an op that is not a string: PROTOCOL.md allows reading this as a missing/mistyped field
  // (bad_request) or as an op that is not one of the ops (unknown_op).
  for (const op of [{ ref: 'no-op' }, { op: 5, ref: 'op-number' }, { op: null, ref: 'op-null' }]) {
    const r = await c.request(op, { raw: true });
    assert.equal(r.op, 'error', `${op.ref}: ${JSON.stringify(r)}`);
    assert.ok(['bad_request', 'unknown_op'].includes(r.code), `${op.ref}: ${r.code}`);
  }
  // Missing / mistyped fields.
  for (const op of [
    { op: 'sub', ref: 'sub-nothing' },
    { op: 'unsub', ref: 'unsub-nothing' },
    { op: 'pub', room: 'r', ref: 'pub-no-data' },
    { op: 'pub', data: 1, ref: 'pub-no-room' },
    { op: 'send', data: 1, ref: 'send-no-to' },
    { op: 'send', to: 'bob', ref: 'send-no-data' },
    { op: 'cmd', device: 'd1', ref: 'cmd-no-data' },
    { op: 'refresh', ref: 'refresh-no-token' },
    { op: 'refresh', token: 42, ref: 'refresh-number' },
    { op: 'sub', room: 17, ref: 'room-number' },
  ]) {
    const r = await c.request(op, { raw: true });
    assert.equal(r.op, 'error', `${op.ref}: ${JSON.stringify(r)}`);
    assert.equal(r.code, 'bad_request', `${op.ref}: ${r.code}`);
  }
  for (const ref of [{ a: 1 }, [1], true, 'r'.repeat(65)]) {
    c.sendRaw({ op: 'ping', ref });
    const r = await c.next((f) => f.op === 'error' || f.op === 'pong', 5000, `reply to a ping with ref ${JSON.stringify(ref).slice(0, 20)}`);
    assert.equal(r.op, 'error', `ref ${JSON.stringify(ref).slice(0, 20)} is not a string/number of <= 64 chars`);
    assert.equal(r.code, 'bad_request');
  }
  await stillAlive(c);

  // A binary frame.
  c.sendRaw(Buffer.from([1, 2, 3, 0xff]), { binary: true });
  const b = await c.next((f) => f.op === 'error', 5000, 'binary_unsupported');
  assert.equal(b.code, 'binary_unsupported');
  c.sendRaw(Buffer.from(JSON.stringify({ op: 'ping', ref: 'as-binary' })), { binary: true });
  const b2 = await c.next((f) => f.op === 'error' || f.op === 'pong', 5000, 'reply to JSON in a binary frame');
  assert.equal(b2.code, 'binary_unsupported', 'JSON in a binary frame is still a binary frame');
  await stillAlive(c);

  // Exactly one reply per request: nothing else is pending.
  await c.none(() => true, 300, 'extra reply');
});

scenario('oversize frames close with 1009; invalid UTF-8 closes with 1007', { timeout: 60000 }, async (env) => {
  const broker = await env.startBroker();
  const dflt = await env.startEdge({ id: 'e1', broker });
  const small = await env.startEdge({ id: 'e2', broker, extra: ['--max-frame', '1024'] });

  const bystander = await env.connect(dflt, { user: 'bystander' });
  const a = await env.connect(dflt, { user: 'big', extra: { rooms: ['*'] } });
  assert.equal(a.welcome.limits.max_frame, 65536);
  // Exactly max_frame bytes is not "larger than max-frame".
  const fit = JSON.stringify({ op: 'pub', room: 'r', data: '' });
  a.sendRaw(JSON.stringify({ op: 'pub', room: 'r', data: 'x'.repeat(65536 - fit.length) }));
  const fitReply = await a.next((f) => f.op === 'ok' || f.op === 'error', 10000, 'reply to a 65536-byte frame');
  assert.ok(fitReply.op === 'ok' || fitReply.code === 'bad_request', `65536 bytes: ${JSON.stringify(fitReply)}`);
  assert.equal(a.closed, null);
  a.sendRaw(JSON.stringify({ op: 'pub', room: 'r', data: 'x'.repeat(65537) }));
  const ca = await a.waitClose(10000);
  assert.equal(ca.code, 1009, `close code for > 65536 bytes (reason ${ca.reason})`);

  const s = await env.connect(small, { user: 'small', extra: { rooms: ['*'] } });
  assert.equal(s.welcome.limits.max_frame, 1024);
  s.sendRaw(JSON.stringify({ op: 'pub', room: 'r', data: 'y'.repeat(1024 - fit.length) }));
  const sFit = await s.next((f) => f.op === 'ok' || f.op === 'error', 10000, 'reply to a 1024-byte frame');
  assert.ok(sFit.op === 'ok' || sFit.code === 'bad_request', `1024 bytes: ${JSON.stringify(sFit)}`);
  s.sendRaw(JSON.stringify({ op: 'ping', ref: 'x', pad: 'z'.repeat(1100) }));
  const cs = await s.waitClose(10000);
  assert.equal(cs.code, 1009, `close code for > 1024 bytes with --max-frame 1024 (reason ${cs.reason})`);

  // A fragmented message larger than max-frame is still one message.
  const frag = await env.raw(small, { user: 'fragger' });
  await frag.nextJson((f) => f.op === 'welcome', 5000, 'welcome');
  frag.sendFrame(OP.text, Buffer.from('{"op":"ping","pad":"' + 'a'.repeat(600)), { fin: false });
  frag.sendFrame(OP.cont, Buffer.from('a'.repeat(600) + '"}'), { fin: true });
  const cf = await frag.waitClosed(10000, 'close 1009 after a fragmented oversize message');
  assert.equal(cf.closeFrame?.code, 1009, `fragmented oversize message: ${JSON.stringify(cf)}`);

  // Invalid UTF-8 in a text frame.
  const raw = await env.raw(dflt, { user: 'mangler' });
  await raw.nextJson((f) => f.op === 'welcome', 5000, 'welcome');
  raw.sendFrame(OP.text, Buffer.concat([Buffer.from('{"op":"ping","ref":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]));
  const cr = await raw.waitClosed(10000, 'close 1007 after invalid UTF-8 in a text frame');
  assert.equal(cr.closeFrame?.code, 1007, `close code for invalid UTF-8: ${JSON.stringify(cr)}`);
  // A well-formed raw client on the same edge is fine (the raw client itself is sane).
  const sane = await env.raw(dflt, { user: 'sane' });
  await sane.nextJson((f) => f.op === 'welcome', 5000, 'welcome');
  sane.sendJson({ op: 'ping', ref: 'raw-ok' });
  const pong = await sane.nextJson((f) => f.op === 'pong', 5000, 'pong');
  assert.equal(pong.ref, 'raw-ok');

  // The edge is fine, and so is a client that did nothing wrong.
  await stillAlive(bystander);
  assert.equal((await dflt.healthz()).status, 200);
  assert.equal((await small.healthz()).status, 200);
});
