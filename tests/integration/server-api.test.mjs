// The server HTTP API (PROTOCOL.md section 8, "Server API"), against a real mosquitto and real edges.
// A backend with an API key publishes to a room (members on both edges get it once, with the id the
// answer gave), to a user and to a device, broadcasts to three rooms, and reads GET /api/v1/info. It
// throws a user out everywhere with a close code and reason, and with refuse_tokens_before the old token
// is refused (401 token_revoked) on both edges, after a SIGTERM + restart of one of them and on an edge
// started later, while a token issued after it works; lifting it lets the old token in again. Every
// malformed call gets its documented status and code and publishes nothing (an MQTT subscriber on the
// whole prefix watches); a call while the broker is away is 503 unavailable and is not queued. Every
// answer body is checked against server-api.schema.json / http-error.schema.json.
import assert from 'node:assert/strict';
import { scenario, topics, nowSec, PREFIX, waitFor } from './lib/harness.mjs';
import { httpRequest } from './lib/inbox.mjs';
import { checkServerApi, checkHttpErrorStatus, checkEdgeStatus } from './lib/schemas.mjs';

const KEY = 'k-server-api-1';
const FLAGS = ['--api-key', KEY, '--status-interval', '1', '--api-max-body', '4096'];
const ANSWER_DEF = { '/api/v1/publish': 'publishAnswer', '/api/v1/broadcast': 'broadcastAnswer', '/api/v1/disconnect': 'disconnectAnswer', '/api/v1/info': 'infoAnswer' };

// One API call; the answer is checked against its schema (200: the endpoint's answer; else an error body
// with the status its code goes with), and must come within timeoutMs.
async function call(env, edge, path, body, { method = 'POST', key = KEY, headers = {}, timeoutMs = 5000 } = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  if (key !== null) h.authorization = `Bearer ${key}`;
  const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const started = Date.now();
  const r = await httpRequest(edge.port, path, { method, headers: h, body: payload, timeoutMs });
  r.ms = Date.now() - started;
  const bad = r.status === 200 ? checkServerApi(ANSWER_DEF[path], r.json) : checkHttpErrorStatus(r.status, r.json);
  if (bad) env.violations.push(`${method} ${path} on ${edge.name} -> HTTP ${r.status}: ${bad}; body: ${r.body.slice(0, 300)}`);
  return r;
}

// Asserts an error answer: status, code, and that it came quickly.
async function refused(env, edge, path, body, status, code, opts) {
  const r = await call(env, edge, path, body, opts);
  assert.equal(r.status, status, `${path} ${typeof body === 'string' ? body.slice(0, 80) : JSON.stringify(body)?.slice(0, 80)}: ${r.body}`);
  assert.equal(r.json?.error, code, `${path}: ${r.body}`);
  assert.ok(r.ms < 3000, `answered in ${r.ms} ms`);
  return r;
}

const claims = (sub, extra = {}) => ({ sub, iat: nowSec(), exp: nowSec() + 3600, rooms: ['*'], ...extra });

scenario('publish to a room, a user and a device; broadcast to 3 rooms; info lists both edges', { timeout: 60000 }, async (env) => {
  const broker = await env.startBroker();
  const e1 = await env.startEdge({ id: 'e1', broker, extra: FLAGS });
  const e2 = await env.startEdge({ id: 'e2', broker, extra: FLAGS });
  const alice = await env.connect(e1, { claims: claims('alice') });
  const bob1 = await env.connect(e1, { claims: claims('bob') });
  const bob2 = await env.connect(e2, { claims: claims('bob') });
  const carl = await env.connect(e2, { claims: claims('carl') });
  for (const c of [alice, carl]) await c.ok({ op: 'sub', room: 'lobby' });
  const device = await env.mqtt(broker, { name: 'device-d1' });
  await device.sub(topics.cmd('d1'));

  // a room, from e1: members on e1 and e2 get it once, with the answer's id
  const r = await call(env, e1, '/api/v1/publish', { room: 'lobby', data: { text: 'hello', n: [1, 2] }, from: 'backend' });
  assert.equal(r.status, 200, r.body);
  assert.ok(r.ms < 3000, `answered in ${r.ms} ms`);
  for (const c of [alice, carl]) {
    const m = await c.next((f) => f.op === 'msg' && f.room === 'lobby', 5000);
    assert.deepEqual([m.id, m.ts, m.from, m.data], [r.json.id, r.json.ts, 'backend', { text: 'hello', n: [1, 2] }]);
  }
  // a backend's own id: a retry with the same id is one message
  for (let i = 0; i < 2; i++) {
    const again = await call(env, e2, '/api/v1/publish', { room: 'lobby', data: 'once', id: 'order-42.v1' });
    assert.equal(again.status, 200, again.body);
    assert.equal(again.json.id, 'order-42.v1');
  }
  for (const c of [alice, carl]) {
    const m = await c.next((f) => f.op === 'msg' && f.room === 'lobby', 5000);
    assert.deepEqual([m.id, m.data, 'from' in m], ['order-42.v1', 'once', false]);
    await c.none((f) => f.op === 'msg' && f.room === 'lobby', 400, 'a second copy');
  }

  // a user (both tabs, on both edges), and nobody else
  const d = await call(env, e2, '/api/v1/publish', { user: 'bob', data: { dm: true } });
  assert.equal(d.status, 200, d.body);
  for (const c of [bob1, bob2]) {
    const m = await c.next((f) => f.op === 'msg' && f.to === 'bob', 5000);
    assert.deepEqual([m.id, m.data], [d.json.id, { dm: true }]);
    await c.none((f) => f.op === 'msg' && f.to === 'bob', 300, 'a second copy');
  }
  await alice.none((f) => f.op === 'msg' && f.to, 100, 'a direct message to someone else');

  // a device command: the envelope on device/d1/cmd
  const c = await call(env, e1, '/api/v1/publish', { device: 'd1', data: { on: true }, from: 'ops' });
  assert.equal(c.status, 200, c.body);
  const env1 = await device.next((m) => m.topic === topics.cmd('d1'), 5000);
  assert.deepEqual(env1.json, { v: 1, id: c.json.id, ts: c.json.ts, from: 'ops', data: { on: true } });

  // broadcast to three rooms: alice in r1 and r2 (e1), carl in r3 (e2)
  for (const room of ['r1', 'r2']) await alice.ok({ op: 'sub', room });
  await carl.ok({ op: 'sub', room: 'r3' });
  const b = await call(env, e2, '/api/v1/broadcast', { rooms: ['r1', 'r2', 'r3'], data: { news: 1 } });
  assert.equal(b.status, 200, b.body);
  assert.deepEqual(b.json.results.map((x) => x.room), ['r1', 'r2', 'r3']);
  assert.equal(new Set(b.json.results.map((x) => x.id)).size, 3, 'one id per room');
  for (const [client, room] of [[alice, 'r1'], [alice, 'r2'], [carl, 'r3']]) {
    const m = await client.next((f) => f.op === 'msg' && f.room === room, 5000);
    assert.equal(m.id, b.json.results.find((x) => x.room === room).id);
    assert.deepEqual(m.data, { news: 1 });
  }
  await alice.none((f) => f.op === 'msg' && f.room?.startsWith('r'), 300, 'a second copy');

  // info: both edges, online, with their connection counts (status-interval 1 s)
  const want = { e1: 2, e2: 2 };
  const info = await waitFor(async () => {
    const i = await call(env, e1, '/api/v1/info', undefined, { method: 'GET' });
    assert.equal(i.status, 200, i.body);
    const got = Object.fromEntries(i.json.edges.map((x) => [x.edge, x.connections]));
    return JSON.stringify(got) === JSON.stringify(want) ? i : null;
  }, { timeoutMs: 8000, what: 'info: e1 and e2 with 2 connections each' });
  for (const x of info.json.edges) {
    assert.equal(x.version, '0.1.0');
    assert.ok(x.uptime_s >= 0 && x.uptime_s < 60, `uptime ${x.uptime_s}`);
    assert.ok(x.boot <= info.json.ts && x.ts <= info.json.ts + 1000);
  }
  // the retained status itself carries the count
  const op = await env.mqtt(broker, { name: 'operator' });
  await op.sub(topics.status('e2'));
  const st = await op.next((m) => m.topic === topics.status('e2') && m.json?.connections === 2, 5000);
  assert.equal(checkEdgeStatus(st.json), null);
  // a tab closes: info follows within a few intervals
  carl.close();
  await waitFor(async () => {
    const i = await call(env, e2, '/api/v1/info', undefined, { method: 'GET' });
    return i.json.edges.find((x) => x.edge === 'e2')?.connections === 1;
  }, { timeoutMs: 8000, what: 'info: e2 down to 1 connection' });
});

scenario('disconnect: a user closed on both edges with code and reason; revoked tokens refused, also after a restart', { timeout: 90000 }, async (env) => {
  const broker = await env.startBroker();
  const e1 = await env.startEdge({ id: 'e1', broker, extra: FLAGS });
  const e2 = await env.startEdge({ id: 'e2', broker, extra: FLAGS });
  const old = env.token(claims('carol', { iat: nowSec() - 60 }));
  const tabs = [await env.connect(e1, { token: old }), await env.connect(e1, { token: old }), await env.connect(e2, { token: old })];
  const dave = [await env.connect(e1, { claims: claims('dave') }), await env.connect(e2, { claims: claims('dave') })];
  const watch = await env.mqtt(broker, { name: 'watch' });
  await watch.sub(`${PREFIX}/user/+/revoke`);
  await watch.sub(`${PREFIX}/user/+/disconnect`);

  const t0 = Date.now();
  const r = await call(env, e1, '/api/v1/disconnect', { user: 'carol', code: 4010, reason: 'banned: spam ✋', refuse_tokens_before: 'now' });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json.closed_here, 2);
  const before = r.json.refuse_tokens_before;
  assert.ok(Math.abs(before - nowSec()) <= 2, `refuse_tokens_before ${before} is now`);
  for (const t of tabs) {
    const closed = await t.waitClose(3000);
    assert.deepEqual([closed.code, closed.reason], [4010, 'banned: spam ✋']);
  }
  assert.ok(Date.now() - t0 < 3000, 'every tab closed within 3 s');
  // what went over the broker: the retained revocation, then the disconnect
  const rev = await watch.next((m) => m.topic === `${PREFIX}/user/carol/revoke`, 3000);
  assert.equal(checkServerApi('revokeMessage', rev.json), null);
  assert.equal(rev.json.before, before);
  const dis = await watch.next((m) => m.topic === `${PREFIX}/user/carol/disconnect`, 3000);
  assert.equal(checkServerApi('disconnectMessage', dis.json), null);
  assert.deepEqual([dis.json.code, dis.json.reason, dis.retain], [4010, 'banned: spam ✋', false]);
  // other users stay
  for (const c of dave) {
    assert.ok(c.isOpen);
    await c.request({ op: 'ping' });
  }

  // the old token is refused everywhere; a token issued after the revocation works
  const fresh = env.token(claims('carol', { iat: before + 1 }));
  for (const e of [e1, e2]) {
    const no = await env.connectRefused(e, { token: old });
    assert.deepEqual([no.status, no.body.error], [401, 'token_revoked']);
    const noIat = await env.connectRefused(e, { token: env.token({ sub: 'carol', exp: nowSec() + 3600 }) });
    assert.deepEqual([noIat.status, noIat.body.error], [401, 'token_revoked'], 'a token without iat');
    const yes = await env.connect(e, { token: fresh });
    assert.equal(yes.welcome.user, 'carol');
    // refresh with the old token: refused, the connection stays
    await yes.err({ op: 'refresh', token: old }, 'token_revoked');
    await yes.request({ op: 'ping' });
    yes.close();
  }

  // defaults: code 4003 and the default reason; no revocation, so dave comes straight back
  const dd = await call(env, e2, '/api/v1/disconnect', { user: 'dave' });
  assert.equal(dd.status, 200, dd.body);
  assert.deepEqual([dd.json.closed_here, 'refuse_tokens_before' in dd.json], [1, false]);
  for (const c of dave) assert.deepEqual(Object.values(await c.waitClose(3000)), [4003, 'disconnected by the server']);
  await env.connect(e1, { claims: claims('dave', { iat: nowSec() - 600 }) });

  // SIGTERM e2 and start it again (same data dir): the broker's retained revocation is in before any
  // user token is taken
  await e2.kill('SIGTERM');
  await e2.start({ port: e2.port });
  const again = await env.connectRefused(e2, { token: old });
  assert.deepEqual([again.status, again.body.error], [401, 'token_revoked']);
  assert.equal((await env.connect(e2, { token: fresh })).welcome.user, 'carol');
  // an edge that did not exist at the time knows it too
  const e3 = await env.startEdge({ id: 'e3', broker, extra: FLAGS });
  const e3no = await env.connectRefused(e3, { token: old });
  assert.deepEqual([e3no.status, e3no.body.error], [401, 'token_revoked']);

  // lifting: refuse_tokens_before 0 clears the retained revocation; the old token works again everywhere
  const lift = await call(env, e3, '/api/v1/disconnect', { user: 'carol', refuse_tokens_before: 0 });
  assert.equal(lift.status, 200, lift.body);
  assert.equal(lift.json.refuse_tokens_before, 0);
  for (const e of [e1, e2, e3]) {
    const c = await waitFor(async () => {
      const o = await env._open(e, { token: old });
      return o.client ?? null;
    }, { timeoutMs: 5000, what: `the old token accepted again on ${e.name}` });
    c.close();
  }
  const cleared = await env.mqtt(broker, { name: 'late' });
  await cleared.sub(`${PREFIX}/user/carol/revoke`);
  await cleared.none(() => true, 400, 'a retained revocation after the lift');
});

scenario('bad calls: 401, 400 bad_json / bad_request / invalid_id, 413, 405, 404, 503 -- and nothing is published', { timeout: 60000 }, async (env) => {
  const broker = await env.startBroker();
  const e1 = await env.startEdge({ id: 'e1', broker, extra: FLAGS });
  const nokey = await env.startEdge({ id: 'e2', broker });
  const watch = await env.mqtt(broker, { name: 'watch-all' });
  await watch.sub(`${PREFIX}/#`);
  const noise = (m) => /\/edge\/[^/]+\/(status|sync)$/.test(m.topic);
  await watch.none((m) => !noise(m), 200, 'traffic before the test');
  const P = '/api/v1/publish', B = '/api/v1/broadcast', D = '/api/v1/disconnect', I = '/api/v1/info';

  for (const path of [P, B, D]) {
    await refused(env, e1, path, { room: 'a', data: 1 }, 401, 'unauthorized', { key: 'wrong' });
    await refused(env, e1, path, { room: 'a', data: 1 }, 401, 'unauthorized', { key: null });
    await refused(env, e1, path, { room: 'a', data: 1 }, 401, 'unauthorized', { key: null, headers: { authorization: `Basic ${KEY}` } });
    await refused(env, nokey, path, { room: 'a', data: 1 }, 404, 'not_found');
    await refused(env, e1, path, undefined, 405, 'method_not_allowed', { method: 'GET' });
    await refused(env, e1, path, undefined, 405, 'method_not_allowed', { method: 'DELETE' });
    for (const text of ['{"room":', '{"room":"a","data":1} x', 'nope', '']) await refused(env, e1, path, text, 400, 'bad_json');
    for (const body of [[], 'null', '"room"', { room: 'a', data: 1, extra: true }, '{"room":"a","room":"b","data":1}']) await refused(env, e1, path, body, 400, 'bad_request');
  }
  await refused(env, e1, I, undefined, 401, 'unauthorized', { method: 'GET', key: 'wrong' });
  await refused(env, e1, I, '{}', 405, 'method_not_allowed');
  await refused(env, nokey, I, undefined, 404, 'not_found', { method: 'GET' });

  // publish
  for (const body of [{ room: 'a' }, { data: 1 }, { room: 'a', user: 'b', data: 1 }, { room: 5, data: 1 }, { user: null, data: 1 }, { room: 'a', data: 1, id: 7 }, { room: 'a', data: 1, from: {} }])
    await refused(env, e1, P, body, 400, 'bad_request');
  for (const bad of ['a/b', 'a+b', '#', '+', '$SYS', 'a b', '', 'x'.repeat(65), 'é', 'a\u0000b', 'a*'])
    for (const key of ['room', 'user', 'device']) await refused(env, e1, P, { [key]: bad, data: 1 }, 400, 'invalid_id');
  await refused(env, e1, P, '{"room":"\\u0061","data":1}', 400, 'invalid_id');
  for (const id of ['a/b', 'x'.repeat(101), '', 'a#']) await refused(env, e1, P, { room: 'a', data: 1, id }, 400, 'invalid_id');
  await refused(env, e1, P, { room: 'a', data: 1, from: 'x/y' }, 400, 'invalid_id');
  // broadcast
  const rooms = (n) => Array.from({ length: n }, (_, i) => `room-${i}`);
  for (const body of [{ data: 1 }, { rooms: ['a'] }, { rooms: [], data: 1 }, { rooms: 'a', data: 1 }, { rooms: rooms(101), data: 1 }, { rooms: ['a', 'b', 'a'], data: 1 }, { rooms: ['a', 3], data: 1 }])
    await refused(env, e1, B, body, 400, 'bad_request');
  for (const r of [['a', 'b/c'], ['#'], ['ok', 'a+']]) await refused(env, e1, B, { rooms: r, data: 1 }, 400, 'invalid_id');
  // disconnect
  for (const body of [{}, { user: 'u', code: 3999 }, { user: 'u', code: 5000 }, { user: 'u', code: '4000' }, { user: 'u', code: 4000.5 }, { user: 'u', reason: 'x'.repeat(121) }, { user: 'u', reason: 'é'.repeat(61) }, { user: 'u', reason: 7 }, { user: 'u', refuse_tokens_before: -1 }, { user: 'u', refuse_tokens_before: 'later' }, { user: 'u', refuse_tokens_before: 1.5 }])
    await refused(env, e1, D, body, 400, 'bad_request');
  for (const user of ['a/b', '+', '#', 'x'.repeat(65)]) await refused(env, e1, D, { user }, 400, 'invalid_id');
  // 413: announced, and sent in chunks without a length
  const big = JSON.stringify({ room: 'a', data: 'x'.repeat(5000) });
  await refused(env, e1, P, big, 413, 'too_large');
  await refused(env, e1, B, big, 413, 'too_large', { headers: { 'transfer-encoding': 'chunked' } });
  // the limits themselves are fine: 120 bytes of reason, 100 rooms
  const ok = await call(env, e1, D, { user: 'nobody', reason: 'é'.repeat(60) });
  assert.equal(ok.status, 200, ok.body);
  const hundred = await call(env, e1, B, { rooms: rooms(100), data: 1 });
  assert.equal(hundred.status, 200, hundred.body);

  // nothing of the refused calls reached the broker: the first messages after the noise are the good calls'
  const seen = () => watch.all.filter((m) => !noise(m)).map((m) => m.topic);
  await waitFor(() => seen().length === 101, { timeoutMs: 5000, what: 'the 1 disconnect + 100 broadcast messages' });
  assert.deepEqual(seen(), [`${PREFIX}/user/nobody/disconnect`, ...rooms(100).map((r) => topics.room(r))]);

  // the broker away: 503 unavailable at once, and nothing is queued for later
  await broker.kill('SIGKILL');
  await e1.waitNotReady();
  await refused(env, e1, P, { room: 'later', data: 1 }, 503, 'unavailable');
  await refused(env, e1, B, { rooms: ['later'], data: 1 }, 503, 'unavailable');
  await refused(env, e1, D, { user: 'later' }, 503, 'unavailable');
  await broker.restart();
  await e1.waitReady(20000);
  const after = await env.mqtt(broker, { name: 'watch-after' });
  await after.sub(`${PREFIX}/room/later`);
  await after.sub(`${PREFIX}/user/later/#`);
  await after.none(() => true, 500, 'a call refused while the broker was away');
  // and the API works again
  const back = await call(env, e1, P, { room: 'later', data: 'now' });
  assert.equal(back.status, 200, back.body);
  await after.next((m) => m.topic === topics.room('later') && m.json?.id === back.json.id, 5000);

  // metrics count the answers by endpoint and status
  const text = (await httpRequest(e1.port, '/metrics')).body;
  const metric = (ep, st) => Number(new RegExp(`^mqedge_http_api_responses_total\\{endpoint="${ep}",status="${st}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
  assert.equal(metric('publish', '200'), 1);
  assert.equal(metric('publish', '503'), 1);
  assert.equal(metric('broadcast', '413'), 1);
  assert.equal(metric('info', '401'), 1);
  assert.ok(metric('publish', '400') > 50);
});
