// rpc: the contract's details (PROTOCOL.md section 11) that rpc.test.mjs does not pin: the request
// as a backend sees it (payload verbatim, properties, device callers), every answer shape the edge
// accepts or calls bad_reply (and that schemas/rpc-reply.schema.json agrees), duplicate and stray
// answers, per-method deadlines that arrive out of order, callers that leave with calls in flight,
// the broker lost with calls in flight, a persistent-session worker killed before its PUBACKs (the
// broker redelivers, the callers get one ok each), and configuration the edge must refuse.
// The backend here is a bare MQTT 5 client (npm mqtt) that records raw payloads and answers with
// whatever bytes a scenario asks for. Every reply is pinned: its code, a time bound, that it came once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import mqtt from 'mqtt';
import { scenario, delay, waitFor, freePort, runEdgeToExit } from './lib/harness.mjs';
import { metric, metrics } from './lib/inbox.mjs';
import { checkRpcReply } from './lib/schemas.mjs';

const PREFIX = 'mqedge/v1';
const isReply = (f) => f.op === 'ok' || f.op === 'error';
const replies = (c, ref) => c.all.filter((f) => f.ref === ref && isReply(f));

// A backend that records every request (raw payload, properties) and answers only when told.
class Backend {
  static async start(env, broker, { group = 'g', filter = `${PREFIX}/rpc/#` } = {}) {
    const client = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`, {
      clientId: `backend-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 0,
    });
    const b = new Backend(client);
    await new Promise((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    await client.subscribeAsync(`$share/${group}/${filter}`, { qos: 1 });
    env.onCleanup(() => b.end());
    return b;
  }

  constructor(client) {
    this.client = client;
    this.requests = []; // { topic, method, payload: Buffer, qos, props }
    this._waiters = new Set();
    client.on('message', (topic, payload, packet) => {
      this.requests.push({ topic, method: topic.slice(`${PREFIX}/rpc/`.length), payload: Buffer.from(payload), qos: packet.qos, props: packet.properties ?? {} });
      for (const w of [...this._waiters]) w();
    });
  }

  // Resolves the n-th request (1-based) once it has arrived.
  nth(n, timeoutMs = 5000) {
    return waitFor(() => this.requests[n - 1], { timeoutMs, intervalMs: 10, what: `backend request #${n}` });
  }

  // Publishes body (a string sent as is, or an object as JSON) to req's Response Topic.
  answer(req, body, { correlation = req.props.correlationData, qos = 1, topic = req.props.responseTopic } = {}) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const properties = correlation === undefined ? {} : { correlationData: correlation };
    return this.client.publishAsync(topic, text, { qos, properties });
  }

  async end() {
    try {
      await this.client.endAsync(true);
    } catch {
      /* gone */
    }
  }
}

// The raw text of every frame a client receives (the harness client keeps parsed frames only).
function rawTexts(c) {
  const texts = [];
  c.ws.on('message', (d, bin) => {
    if (!bin) texts.push(d.toString('utf8'));
  });
  return texts;
}

async function timedReply(c, ref, timeoutMs = 10000) {
  const t0 = Date.now();
  const r = await c.next((f) => f.ref === ref && isReply(f), timeoutMs, `reply ${ref}`);
  return { r, ms: Date.now() - t0 };
}

scenario('rpc request on the broker: data verbatim (null when absent), QoS 1, every property, device callers', { timeout: 60000 }, async (env) => {
  const { broker, edges: [edge] } = await env.cluster(1, { extra: ['--rpc-timeout', '1500', '--rpc-timeouts', 'tiny*=10'] });
  const be = await Backend.start(env, broker);
  const alice = await env.connect(edge, { user: 'alice', extra: { rpc: ['*'] } });
  const dev = await env.connect(edge, { claims: { sub: 'dev-7', kind: 'device', rpc: ['telemetry.*'], exp: Math.floor(Date.now() / 1000) + 3600 }, name: 'dev-7' });
  const texts = rawTexts(alice);

  // data exactly as the client wrote it: spacing, a number no double holds, escapes, a fraction's zero
  const dataText = '{ "big" : 123456789012345678901234567890, "f": 1.50, "s": "\\u00e9\\"x", "u": "ü" }';
  alice.sendRaw(`{"op":"rpc","method":"orders.get","data":${dataText},"ref":"v1"}`);
  const q1 = await be.nth(1);
  assert.equal(q1.topic, `${PREFIX}/rpc/orders.get`);
  assert.equal(q1.payload.toString('utf8'), dataText, 'payload = the data JSON text, byte for byte');
  assert.equal(q1.qos, 1);
  assert.equal(q1.props.responseTopic, `${PREFIX}/edge/e1/rpc`);
  assert.equal(q1.props.contentType, 'application/json');
  assert.equal(q1.props.messageExpiryInterval, 2, '1500 ms rounded up to 2 s');
  assert.match(q1.props.correlationData.toString('latin1'), /^[\x21-\x7e]{1,39}$/, 'correlation data: printable ASCII');
  assert.deepEqual({ ...q1.props.userProperties }, { user: 'alice', kind: 'user', session: alice.welcome.session, edge: 'e1' });

  // the answer's data reaches the client verbatim as well
  const answerData = '{"n" : 98765432109876543210987654321, "f": 2.50}';
  await be.answer(q1, `{"data":${answerData}}`);
  const { r, ms } = await timedReply(alice, 'v1', 3000);
  assert.equal(r.op, 'ok');
  assert.ok(ms < 1000, `answer relayed after ${ms} ms`);
  const okText = texts.find((t) => t.includes('"v1"') && t.includes('"ok"'));
  assert.ok(okText.includes(answerData), `the ok carries the backend's data text verbatim: ${okText}`);

  // data absent: the payload is the JSON text null; scalars and arrays are fine too
  alice.send({ op: 'rpc', method: 'ping', ref: 'v2' });
  alice.send({ op: 'rpc', method: 'ping', data: [1, 'two', null], ref: 'v3' });
  alice.send({ op: 'rpc', method: 'ping', data: 'text', ref: 'v4' });
  const [q2, q3, q4] = [await be.nth(2), await be.nth(3), await be.nth(4)];
  assert.deepEqual([q2, q3, q4].map((q) => q.payload.toString('utf8')), ['null', '[1,"two",null]', '"text"']);
  const corrs = new Set(be.requests.map((q) => q.props.correlationData.toString('latin1')));
  assert.equal(corrs.size, 4, 'a correlation id per request');
  for (const [q, v] of [[q2, null], [q3, 0], [q4, false]]) await be.answer(q, { data: v });
  for (const [ref, v] of [['v2', null], ['v3', 0], ['v4', false]]) {
    const x = await timedReply(alice, ref, 3000);
    assert.deepEqual([x.r.op, x.r.data], ['ok', v], `${ref}: falsy data passed through`);
    assert.ok(x.ms < 1000);
  }
  // a numeric ref comes back as a number
  alice.send({ op: 'rpc', method: 'ping', ref: 42 });
  await be.answer(await be.nth(5), { data: 'n' });
  assert.deepEqual((await timedReply(alice, 42, 3000)).r, { op: 'ok', ref: 42, data: 'n' });

  // a device may call what its token allows; the backend sees kind device
  dev.send({ op: 'rpc', method: 'telemetry.flush', data: { n: 1 }, ref: 'd1' });
  const qd = await be.nth(6);
  assert.deepEqual({ ...qd.props.userProperties }, { user: 'dev-7', kind: 'device', session: dev.welcome.session, edge: 'e1' });
  await be.answer(qd, { data: 'flushed' });
  assert.deepEqual((await timedReply(dev, 'd1', 3000)).r.data, 'flushed');
  const t0 = Date.now();
  const f = await dev.request({ op: 'rpc', method: 'orders.get' });
  assert.equal(f.code, 'forbidden');
  assert.ok(Date.now() - t0 < 1000);

  // a 10 ms timeout still gets 1 s of expiry (rounded up, never 0)
  alice.send({ op: 'rpc', method: 'tiny-one', ref: 'v6' });
  assert.equal((await be.nth(7)).props.messageExpiryInterval, 1);
  assert.equal((await timedReply(alice, 'v6', 3000)).r.code, 'timeout');

  // a method of 64 characters is an id; 65 is not (invalid_id, nothing published)
  const m64 = 'm'.repeat(63) + '7';
  alice.send({ op: 'rpc', method: m64, ref: 'v7' });
  assert.equal((await be.nth(8)).topic, `${PREFIX}/rpc/${m64}`);
  await be.answer(be.requests[7], { data: 64 });
  assert.equal((await timedReply(alice, 'v7', 3000)).r.data, 64);
  const t1 = Date.now();
  assert.equal((await alice.request({ op: 'rpc', method: m64 + 'x' }, { raw: true })).code, 'invalid_id');
  assert.ok(Date.now() - t1 < 1000);
  await delay(200);
  assert.equal(be.requests.length, 8, 'nothing else reached the backend');
});

scenario('rpc answers: each shape the edge accepts or calls bad_reply, in step with rpc-reply.schema.json; limits at their edges', { timeout: 60000 }, async (env) => {
  const { broker, edges: [edge] } = await env.cluster(1, { extra: ['--rpc-timeout', '4000', '--rpc-max-inflight', '64'] });
  const be = await Backend.start(env, broker);
  const c = await env.connect(edge, { user: 'bea', extra: { rpc: ['*'] } });
  const code32 = 'a' + 'b'.repeat(31);
  const msg510 = 'm'.repeat(510); // 512 bytes as JSON text, quotes included: the limit
  // [name, answer text, expected client frame (without ref) or 'bad_reply', schema says valid]
  const cases = [
    ['data-object', '{"data":{"a":1}}', { op: 'ok', data: { a: 1 } }, true],
    ['data-null', '{"data":null}', { op: 'ok', data: null }, true],
    ['error-full', '{"error":{"code":"out_of_stock","message":"none left"}}', { op: 'error', code: 'out_of_stock', message: 'none left' }, true],
    ['error-no-message', '{"error":{"code":"nope"}}', { op: 'error', code: 'nope', message: '' }, true],
    ['error-code-32', JSON.stringify({ error: { code: code32, message: 'x' } }), { op: 'error', code: code32, message: 'x' }, true],
    ['error-message-512', JSON.stringify({ error: { code: 'long', message: msg510 } }), { op: 'error', code: 'long', message: msg510 }, true],
    ['error-message-utf8', JSON.stringify({ error: { code: 'u', message: 'déjà vu \u{1F600}' } }), { op: 'error', code: 'u', message: 'déjà vu \u{1F600}' }, true],
    ['error-edge-code', '{"error":{"code":"timeout","message":"the backend says so"}}', { op: 'error', code: 'timeout', message: 'the backend says so' }, true],
    ['error-code-33', JSON.stringify({ error: { code: code32 + 'c', message: 'x' } }), 'bad_reply', false],
    ['error-code-upper', '{"error":{"code":"Nope","message":"x"}}', 'bad_reply', false],
    ['error-code-digit-first', '{"error":{"code":"1st","message":"x"}}', 'bad_reply', false],
    ['error-code-empty', '{"error":{"code":"","message":"x"}}', 'bad_reply', false],
    ['error-code-number', '{"error":{"code":7,"message":"x"}}', 'bad_reply', false],
    ['error-message-513', JSON.stringify({ error: { code: 'long', message: msg510 + 'm' } }), 'bad_reply', null],
    ['error-message-number', '{"error":{"code":"x","message":5}}', 'bad_reply', false],
    ['error-extra-member', '{"error":{"code":"x","message":"m","detail":1}}', 'bad_reply', false],
    ['error-string', '{"error":"oops"}', 'bad_reply', false],
    ['both', '{"data":1,"error":{"code":"x"}}', 'bad_reply', false],
    ['extra-member', '{"data":1,"worker":"w"}', 'bad_reply', false],
    ['empty-object', '{}', 'bad_reply', false],
    ['array', '[{"data":1}]', 'bad_reply', false],
    ['bare-value', '"hello"', 'bad_reply', false],
    ['duplicate-data', '{"data":1,"data":2}', 'bad_reply', null],
    ['not-json', '{"data":1', 'bad_reply', null],
    ['empty-payload', '', 'bad_reply', null],
    ['bad-utf8', Buffer.from([0x7b, 0x22, 0x64, 0x61, 0x74, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), 'bad_reply', null],
  ];
  for (const [name, text, want, schemaValid] of cases) {
    if (schemaValid !== null) {
      const bad = checkRpcReply(JSON.parse(text));
      assert.equal(!bad, schemaValid, `${name}: rpc-reply.schema.json says ${bad ?? 'valid'}`);
    }
    const ref = `a-${name}`;
    const n = be.requests.length + 1;
    c.send({ op: 'rpc', method: 'shape', data: name, ref });
    const q = await be.nth(n);
    const t0 = Date.now();
    await be.answer(q, text);
    const r = await c.next((f) => f.ref === ref && isReply(f), 3000, `reply ${ref}`);
    const ms = Date.now() - t0;
    assert.ok(ms < 1000, `${name}: answered after ${ms} ms (the timeout is 4000)`);
    if (want === 'bad_reply') assert.deepEqual([r.op, r.code], ['error', 'bad_reply'], `${name}: ${JSON.stringify(r)}`);
    else assert.deepEqual(r, { ...want, ref }, `${name}`);
  }
  const m = await metrics(edge);
  const nBad = cases.filter((x) => x[2] === 'bad_reply').length;
  assert.equal(m.get('mqedge_rpc_results_total{result="bad_reply"}'), nBad);
  assert.equal(m.get('mqedge_rpc_results_total{result="backend_error"}'), cases.filter((x) => x[2]?.op === 'error').length);
  assert.equal(m.get('mqedge_rpc_results_total{result="ok"}'), cases.filter((x) => x[2]?.op === 'ok').length);
  assert.equal(m.get('mqedge_rpc_late_total'), 0);
  assert.equal(m.get('mqedge_rpc_inflight'), 0);
  await c.none((f) => isReply(f) && f.ref?.startsWith?.('a-'), 300, 'a second reply');
  for (const [name] of cases) assert.equal(replies(c, `a-${name}`).length, 1, `${name}: one reply`);
});

scenario('rpc answers that are not the first: a second answer, an unknown correlation, none at all, QoS 0; an answer of 1 MiB', { timeout: 60000 }, async (env) => {
  const { broker, edges: [edge] } = await env.cluster(1, { extra: ['--rpc-timeout', '4000'] });
  const be = await Backend.start(env, broker);
  const c = await env.connect(edge, { user: 'cy', extra: { rpc: ['*'] } });
  c.send({ op: 'rpc', method: 'twice', ref: 't1' });
  const q = await be.nth(1);
  await be.answer(q, { data: 'first' }, { qos: 0 });
  const { r, ms } = await timedReply(c, 't1', 3000);
  assert.deepEqual([r.op, r.data], ['ok', 'first'], 'a QoS 0 answer is an answer');
  assert.ok(ms < 1000);
  await be.answer(q, { data: 'second' });
  await be.answer(q, { data: 'stranger' }, { correlation: Buffer.from('ffff.ffff') });
  await be.answer(q, { data: 'anonymous' }, { correlation: undefined });
  await be.answer(q, { data: 'binary' }, { correlation: Buffer.from([0, 1, 2, 0xff]) });
  await waitFor(async () => (await metric(edge, 'mqedge_rpc_late_total')) === 4, { timeoutMs: 3000, what: 'four dropped answers counted' });
  await c.none(isReply, 500, 'reply to a dropped answer');
  assert.equal(replies(c, 't1').length, 1);

  // sizes: just under 1 MiB of data goes through; over 1 MiB of answer is bad_reply
  const big = 'x'.repeat(1024 * 1024 - 64);
  c.send({ op: 'rpc', method: 'big', ref: 'b1' });
  await be.answer(await be.nth(2), { data: big });
  const b1 = await timedReply(c, 'b1', 5000);
  assert.equal(b1.r.op, 'ok');
  assert.equal(b1.r.data.length, big.length);
  assert.ok(b1.ms < 3000, `1 MiB answer relayed after ${b1.ms} ms`);
  c.send({ op: 'rpc', method: 'big', ref: 'b2' });
  await be.answer(await be.nth(3), { data: big + 'y'.repeat(100) });
  const b2 = await timedReply(c, 'b2', 5000);
  assert.deepEqual([b2.r.op, b2.r.code], ['error', 'bad_reply']);
  assert.ok(b2.ms < 3000);
  assert.equal(await metric(edge, 'mqedge_rpc_inflight'), 0);
});

scenario('rpc deadlines: per-method timeouts, first pattern wins, a shorter deadline after a longer one and the longer one after it fired', { timeout: 60000 }, async (env) => {
  const { broker, edges: [edge] } = await env.cluster(1, { extra: ['--rpc-timeout', '3000', '--rpc-timeouts', 'slow*=600,slowest=2000, report.*=1200'] });
  const be = await Backend.start(env, broker);
  const c = await env.connect(edge, { user: 'dot', extra: { rpc: ['*'] } });
  const t0 = Date.now();
  c.send({ op: 'rpc', method: 'plain', ref: 'p' }); // 3000
  c.send({ op: 'rpc', method: 'report.daily', ref: 'r' }); // 1200
  c.send({ op: 'rpc', method: 'slowest', ref: 's' }); // slow* comes first: 600, not 2000
  await be.nth(3);
  assert.deepEqual(be.requests.map((q) => q.props.messageExpiryInterval), [3, 2, 1]);
  const at = {};
  for (const ref of ['s', 'r', 'p']) {
    const r = await c.next((f) => f.ref === ref && isReply(f), 5000, `timeout ${ref}`);
    assert.equal(r.code, 'timeout', `${ref}: ${JSON.stringify(r)}`);
    at[ref] = Date.now() - t0;
  }
  const within = (ms, want) => ms >= want - 20 && ms <= want + 700; // apart enough to tell 600, 1200, 2000, 3000
  assert.ok(within(at.s, 600), `slowest (slow*=600, first match) timed out after ${at.s} ms`);
  assert.ok(within(at.r, 1200), `report.daily (1200) timed out after ${at.r} ms`);
  assert.ok(within(at.p, 3000), `plain (default 3000) timed out after ${at.p} ms`);
  assert.equal(await metric(edge, 'mqedge_rpc_results_total{result="timeout"}'), 3);
  assert.equal(await metric(edge, 'mqedge_rpc_inflight'), 0);
});

scenario('rpc callers that leave: answers and deadlines for a closed connection go nowhere, slots and gauges come back', { timeout: 60000 }, async (env) => {
  const { broker, edges: [edge] } = await env.cluster(1, { extra: ['--rpc-timeout', '1000', '--rpc-max-inflight', '3'] });
  const be = await Backend.start(env, broker);
  const gone = await env.connect(edge, { user: 'gil', extra: { rpc: ['*'] } });
  for (let i = 0; i < 3; i++) gone.send({ op: 'rpc', method: 'hold', ref: `g${i}` });
  await be.nth(3);
  assert.equal(await metric(edge, 'mqedge_rpc_inflight'), 3);
  gone.terminate();
  await delay(100);
  await be.answer(be.requests[0], { data: 'to nobody' });
  await be.answer(be.requests[1], { error: { code: 'x', message: 'to nobody' } });
  // the third one reaches its deadline with nobody to tell
  await waitFor(async () => (await metric(edge, 'mqedge_rpc_inflight')) === 0, { timeoutMs: 3000, what: 'inflight back to 0' });
  const m = await metrics(edge);
  assert.equal(m.get('mqedge_rpc_results_total{result="timeout"}'), 1);
  assert.equal(m.get('mqedge_rpc_late_total'), 0);
  assert.equal((await edge.healthz()).status, 200);

  // the cap is per connection and a settled call frees its slot whichever way it ended
  const a = await env.connect(edge, { user: 'gil', extra: { rpc: ['*'] } });
  const b = await env.connect(edge, { user: 'gil', extra: { rpc: ['*'] } });
  for (let i = 0; i < 3; i++) a.send({ op: 'rpc', method: 'hold', ref: `a${i}` });
  await be.nth(6);
  const t0 = Date.now();
  assert.equal((await a.request({ op: 'rpc', method: 'hold', ref: 'a3' })).code, 'too_many_requests');
  assert.ok(Date.now() - t0 < 500);
  b.send({ op: 'rpc', method: 'ok', ref: 'b0' });
  await be.answer(await be.nth(7), { data: 1 });
  assert.equal((await timedReply(b, 'b0', 2000)).r.op, 'ok', 'another connection of the same user is not capped by a');
  await be.answer(be.requests[3], { data: 'a0' });
  assert.equal((await timedReply(a, 'a0', 2000)).r.data, 'a0');
  a.send({ op: 'rpc', method: 'ok', ref: 'a4' }); // the slot a0 freed
  await be.answer(await be.nth(8), { data: 'a4' });
  assert.equal((await timedReply(a, 'a4', 2000)).r.data, 'a4');
  // a1 and a2 time out: their slots free too
  for (const ref of ['a1', 'a2']) assert.equal((await timedReply(a, ref, 3000)).r.code, 'timeout');
  for (let i = 0; i < 3; i++) a.send({ op: 'rpc', method: 'ok', ref: `z${i}` });
  for (let i = 0; i < 3; i++) await be.answer(await be.nth(9 + i), { data: i });
  for (let i = 0; i < 3; i++) assert.equal((await timedReply(a, `z${i}`, 2000)).r.data, i);
  assert.equal(await metric(edge, 'mqedge_rpc_inflight'), 0);
});

scenario('rpc with the broker lost while calls are in flight: one reply each, then rpc works again after the broker returns', { timeout: 90000 }, async (env) => {
  const { broker, edges: [edge] } = await env.cluster(1, { extra: ['--rpc-timeout', '1500'] });
  let be = await Backend.start(env, broker);
  const c = await env.connect(edge, { user: 'hal', extra: { rpc: ['*'] } });
  c.send({ op: 'rpc', method: 'hold', ref: 'h1' });
  c.send({ op: 'rpc', method: 'hold', ref: 'h2' });
  await be.nth(2);
  const t0 = Date.now();
  await broker.kill('SIGKILL');
  await edge.waitNotReady(5000);
  // while away: unavailable at once, never queued
  const t1 = Date.now();
  assert.equal((await c.request({ op: 'rpc', method: 'echo', ref: 'u1' })).code, 'unavailable');
  assert.ok(Date.now() - t1 < 500);
  // the calls in flight were taken (PUBACKed, delivered); their answers cannot come back while the
  // broker is away: each gets timeout at its deadline, once
  for (const ref of ['h1', 'h2']) {
    const r = await c.next((f) => f.ref === ref && isReply(f), 5000, `reply ${ref}`);
    const ms = Date.now() - t0;
    assert.equal(r.code, 'timeout', `${ref}: ${JSON.stringify(r)}`);
    assert.ok(ms >= 1400 && ms <= 1500 + 800, `${ref} timed out ${ms} ms after the broker went (deadline 1500 ms after the send)`);
  }
  await broker.restart();
  await edge.waitReady(15000);
  be = await Backend.start(env, broker);
  // ready again means rpc works again: the response topic is subscribed (the persistent session)
  c.send({ op: 'rpc', method: 'echo', ref: 'after' });
  const q = await waitFor(() => be.requests.find((x) => x.method === 'echo'), { timeoutMs: 2000, intervalMs: 10, what: 'echo request after the restart' });
  await be.answer(q, { data: 'back' });
  const { r, ms } = await timedReply(c, 'after', 3000);
  assert.deepEqual([r.op, r.data], ['ok', 'back']);
  assert.ok(ms < 1000, `answered ${ms} ms after the send`);
  assert.deepEqual(be.requests.map((x) => x.method), ['echo'], 'the requests that timed out were not sent again');
  await delay(300);
  for (const ref of ['h1', 'h2', 'u1', 'after']) assert.equal(replies(c, ref).length, 1, `${ref}: one reply`);
  assert.equal(await metric(edge, 'mqedge_rpc_inflight'), 0);
});

// A worker in a child process with a persistent session (fixed client id, session expiry 300 s) that
// takes requests and never acknowledges them (no PUBACK: mqtt.js's customHandleAcks without done), so
// the broker still owes them to that session. Prints "ready", then "request" per request seen.
const HOLDER = `
import mqtt from 'mqtt';
const [port, id] = process.argv.slice(-2);
const c = mqtt.connect('mqtt://127.0.0.1:' + port, { clientId: id, protocolVersion: 5, clean: false,
  properties: { sessionExpiryInterval: 300 }, reconnectPeriod: 0,
  customHandleAcks: () => process.stdout.write('request\\n') });
c.on('connect', async () => { await c.subscribeAsync('$share/g/${PREFIX}/rpc/#', { qos: 1 }); process.stdout.write('ready\\n'); });
`;

scenario('rpc: a worker with a persistent session killed before acknowledging: the broker redelivers when it returns, each caller gets one ok', { timeout: 60000 }, async (env) => {
  const { broker, edges: [edge] } = await env.cluster(1, { extra: ['--rpc-timeout', '6000'] });
  const id = `holder-${process.pid}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', HOLDER, '--', String(broker.port), id],
    { cwd: new URL('../..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'inherit'] });
  env.onCleanup(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await waitFor(() => out.includes('ready'), { timeoutMs: 10000, what: 'holder ready' });
  const c = await env.connect(edge, { user: 'ivy', extra: { rpc: ['*'] } });
  const t0 = Date.now();
  for (let i = 0; i < 3; i++) c.send({ op: 'rpc', method: 'redo', data: i, ref: `r${i}` });
  await waitFor(() => out.includes('request'), { timeoutMs: 5000, what: 'the holder got a request' });
  await delay(200); // the other two are in its socket or its queue, unacknowledged as well
  child.kill('SIGKILL');
  await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve)));
  await c.none(isReply, 300, 'a reply while the worker is gone');
  // the same session comes back (a normal worker now, clean_start false): the broker owes it the three
  const back = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`, { clientId: id, protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 });
  env.onCleanup(() => back.endAsync(true).catch(() => {}));
  const seen = [];
  back.on('message', (topic, payload, packet) => {
    seen.push({ data: JSON.parse(payload), dup: packet.dup });
    back.publish(packet.properties.responseTopic, JSON.stringify({ data: { redone: JSON.parse(payload) } }), { qos: 1, properties: { correlationData: packet.properties.correlationData } });
  });
  await new Promise((resolve, reject) => {
    back.once('connect', resolve);
    back.once('error', reject);
  });
  for (let i = 0; i < 3; i++) {
    const r = await c.next((f) => f.ref === `r${i}` && isReply(f), 6000, `reply r${i}`);
    assert.deepEqual([r.op, r.data], ['ok', { redone: i }], `r${i}: ${JSON.stringify(r)}`);
  }
  const ms = Date.now() - t0;
  assert.ok(ms < 6000, `all three answered after ${ms} ms, before their 6000 ms timeout`);
  assert.deepEqual(seen.map((x) => x.data).sort(), [0, 1, 2], 'each request redelivered once');
  await delay(300);
  for (let i = 0; i < 3; i++) assert.equal(replies(c, `r${i}`).length, 1, `r${i}: one reply`);
  assert.equal(await metric(edge, 'mqedge_rpc_late_total'), 0);
});

const runEdge = (args, timeoutMs = 10000) => runEdgeToExit(args, { timeoutMs });

scenario('rpc configuration the edge refuses to start with', { timeout: 60000 }, async (env) => {
  const base = ['--bind', '127.0.0.1', '--port', String(await freePort()), '--broker', `127.0.0.1:${await freePort()}`, '--edge-id', 'cfg',
    '--jwt-secret', env.secret, '--data-dir', env.tmp];
  for (const [flags, want] of [
    [['--rpc-timeout', '0'], /rpc-timeout/],
    [['--rpc-timeouts', 'slow'], /rpc-timeouts/],
    [['--rpc-timeouts', 'slow=0'], /rpc-timeouts/],
    [['--rpc-timeouts', 'slow=abc'], /rpc-timeouts/],
    [['--rpc-timeouts', 'sl/ow=100'], /rpc-timeouts/],
    [['--rpc-timeouts', '=100'], /rpc-timeouts/],
    [['--rpc-max-inflight', '0'], /rpc-max-inflight/],
  ]) {
    const { code, out } = await runEdge([...base, ...flags]);
    assert.notEqual(code, 0, `${flags.join(' ')}: the edge started: ${out}`);
    assert.match(out, want, `${flags.join(' ')}: ${out}`);
  }
});
