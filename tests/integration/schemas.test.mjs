// The schemas in schemas/ are the machine-readable form of docs/PROTOCOL.md. First, with no server, the
// examples the protocol document gives are accepted and near-misses (bad ids, unknown codes, missing
// fields, both room and to) are rejected. Then a live session against a real broker and two edges
// produces every kind of frame the contract names -- welcome, ok (plain, with id/ts, with exp), error,
// pong, room msg, direct msg, telemetry, cmd, an HTTP handshake refusal, an MQTT envelope written by an
// edge and the retained edge status -- and each is checked against its schema. (All other integration
// tests validate every frame too, inside the harness; this file makes sure each kind is seen at least once.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scenario, topics, nowSec } from './lib/harness.mjs';
import { ajv, SCHEMA_DIR, index, checkEdgeFrame, checkClientFrame, checkEnvelope, checkEdgeStatus, checkHttpError, checkClaims, checkRpcReply } from './lib/schemas.mjs';

const valid = (reason) => assert.equal(reason, null);
const invalid = (reason) => assert.notEqual(reason, null, 'expected a schema violation');

test('every schema file is listed in index.json, declares draft 2020-12 and compiles', () => {
  const files = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json')).sort();
  assert.deepEqual(Object.keys(index.schemas).sort(), files);
  for (const f of files) {
    const s = JSON.parse(readFileSync(join(SCHEMA_DIR, f), 'utf8'));
    assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema', f);
    assert.ok(ajv.getSchema(s.$id), `${f} compiles`);
  }
});

test('ids: 1-64 chars of A-Z a-z 0-9 _ - . @ : only', () => {
  const ok = ['a', 'A-Z_0.9@x:y', 'x'.repeat(64), 'team-a', 'user@example.com', '-', '.', ':'];
  const bad = ['', 'x'.repeat(65), 'a/b', 'a+b', '+', '#', 'a#', '$SYS', 'a b', 'a\u0000b', 'é', 'ü', '😀', 'a\nb', 'a*', 'a\tb', 'a,b'];
  for (const room of ok) valid(checkClientFrame({ op: 'sub', room }));
  for (const room of bad) invalid(checkClientFrame({ op: 'sub', room }));
  for (const to of bad) invalid(checkClientFrame({ op: 'send', to, data: 1 }));
  for (const device of bad) invalid(checkClientFrame({ op: 'cmd', device, data: 1 }));
  invalid(checkClientFrame({ op: 'sub', room: 5 }));
});

test('client frames from PROTOCOL.md section 2', () => {
  for (const f of [
    { op: 'sub', room: 'lobby', ref: 1 },
    { op: 'unsub', room: 'lobby', ref: 'x' },
    { op: 'sub', device: 'd1', ref: 2 },
    { op: 'unsub', device: 'd1' },
    { op: 'pub', room: 'lobby', data: { text: 'hi' }, ref: 3 },
    { op: 'pub', room: 'lobby', data: null },
    { op: 'send', to: 'bob', data: 'hello', ref: 4 },
    { op: 'cmd', device: 'd1', data: { on: true }, ref: 5 },
    { op: 'ping', ref: 6 },
    { op: 'ping' },
    { op: 'refresh', token: 'a.b.c', ref: 7 },
    { op: 'telemetry', data: { t: 21.5 }, ref: 8 },
    { op: 'ping', ref: 'r'.repeat(64) },
    { op: 'ping', ref: 1.5 },
  ])
    valid(checkClientFrame(f));
  for (const f of [
    {},
    { op: 'nope' },
    { op: 'sub' },
    { op: 'sub', room: 'a', device: 'b' },
    { op: 'pub', room: 'a' },
    { op: 'pub', data: 1 },
    { op: 'send', to: 'bob' },
    { op: 'cmd', device: 'd1' },
    { op: 'refresh' },
    { op: 'telemetry' },
    { op: 'ping', ref: 'r'.repeat(65) },
    { op: 'ping', ref: { a: 1 } },
    { op: 'ping', ref: null },
    [],
    'ping',
  ])
    invalid(checkClientFrame(f));
});

test('edge frames from PROTOCOL.md section 3', () => {
  const ts = Date.now();
  for (const f of [
    { op: 'welcome', session: 's1', user: 'alice', kind: 'user', edge: 'e1', ts, exp: null, unread: 0, limits: { max_frame: 65536, max_rooms: 64, rate: 100, burst: 200 } },
    { op: 'welcome', session: 's1', user: 'd1', kind: 'device', edge: 'e1', ts, exp: 2000000000, unread: null, limits: { max_frame: 1024, max_rooms: 3, rate: 10, burst: 10 } },
    { op: 'ok', ref: 1 },
    { op: 'ok' },
    { op: 'ok', ref: 'x', id: 'e1.k2j3.1a', ts },
    { op: 'ok', ref: 'x', exp: 2000000000 },
    { op: 'ok', ref: 'x', exp: null },
    { op: 'error', ref: 1, code: 'forbidden', message: 'no' },
    { op: 'error', code: 'bad_json', message: 'not JSON' },
    { op: 'msg', id: 'e1.1.1', room: 'lobby', from: 'alice', ts, data: { a: 1 } },
    { op: 'msg', id: 'e1.1.1', room: 'lobby', ts, data: 'hello', enc: 'text' },
    { op: 'msg', id: 'e1.1.1', room: 'lobby', ts, data: '/wAB', enc: 'base64' },
    { op: 'msg', id: 'x1', room: 'lobby', from: 'svc', ts, data: null },
    { op: 'msg', id: 'e2.1.2', to: 'bob', from: 'alice', ts, data: 'hi' },
    { op: 'telemetry', id: 'e1.1.3', device: 'd1', ts, data: { t: 1 } },
    { op: 'cmd', id: 'e1.1.4', device: 'd1', from: 'alice', ts, data: { on: true } },
    { op: 'pong', ref: 1, ts },
    { op: 'pong', ts },
    { op: 'resync', reason: 'failover', since: ts - 2000, ts, unread: 3 },
    { op: 'resync', reason: 'session_lost', since: ts - 2000, ts, unread: null },
  ])
    valid(checkEdgeFrame(f));
  for (const [why, f] of [
    // a backend's rpc error code passes through, so the schema takes any lower-case word (section 11)
    ['code that is no word', { op: 'error', ref: 1, code: 'Not a code!', message: 'x' }],
    ['code too long', { op: 'error', ref: 1, code: 'a'.repeat(33), message: 'x' }],
    ['error without message', { op: 'error', code: 'internal' }],
    ['msg with room and to', { op: 'msg', id: 'a', room: 'r', to: 'u', ts, data: 1 }],
    ['msg with neither room nor to', { op: 'msg', id: 'a', ts, data: 1 }],
    ['msg without data', { op: 'msg', id: 'a', room: 'r', ts }],
    ['msg with bad room', { op: 'msg', id: 'a', room: 'a/b', ts, data: 1 }],
    ['enc text but data not a string', { op: 'msg', id: 'a', room: 'r', ts, data: 1, enc: 'text' }],
    ['enc base64 but not base64', { op: 'msg', id: 'a', room: 'r', ts, data: '***', enc: 'base64' }],
    ['unknown enc', { op: 'msg', id: 'a', room: 'r', ts, data: 'x', enc: 'hex' }],
    ['ok with id but no ts', { op: 'ok', id: 'e1.1.1' }],
    ['ok id not edge-assigned form', { op: 'ok', id: 'nodots', ts }],
    ['ts not an integer', { op: 'pong', ts: 'now' }],
    ['welcome without limits', { op: 'welcome', session: 's', user: 'u', kind: 'user', edge: 'e1', ts, exp: null }],
    ['welcome with a bad kind', { op: 'welcome', session: 's', user: 'u', kind: 'robot', edge: 'e1', ts, exp: null, unread: 0, limits: { max_frame: 1, max_rooms: 1, rate: 1, burst: 1 } }],
    ['welcome without unread (section 7)', { op: 'welcome', session: 's', user: 'u', kind: 'user', edge: 'e1', ts, exp: null, limits: { max_frame: 1, max_rooms: 1, rate: 1, burst: 1 } }],
    ['telemetry without device', { op: 'telemetry', id: 'a', ts, data: 1 }],
    ['unknown op', { op: 'hello' }],
    ['resync with an unknown reason (section 12)', { op: 'resync', reason: 'maintenance', since: ts, ts, unread: 0 }],
    ['resync without unread', { op: 'resync', reason: 'failover', since: ts, ts }],
    ['resync with a negative unread', { op: 'resync', reason: 'failover', since: ts, ts, unread: -1 }],
  ])
    assert.notEqual(checkEdgeFrame(f), null, why);
});

test('envelope, edge status, HTTP error body and token claims from PROTOCOL.md', () => {
  valid(checkEnvelope({ v: 1, id: 'e1.a.b', ts: Date.now(), from: 'alice', data: { x: 1 } }));
  valid(checkEnvelope({ v: 1, id: 'x1', data: 'aGk=', enc: 'base64' }));
  valid(checkEnvelope({ v: 1, id: 'x1', data: null }));
  invalid(checkEnvelope({ v: 2, id: 'x1', data: 1 }));
  invalid(checkEnvelope({ v: 1, id: 5, data: 1 }));
  invalid(checkEnvelope({ v: 1, id: 'x1' }));
  valid(checkEdgeStatus({ edge: 'e1', status: 'online', ts: Date.now(), version: '0.1.0' }));
  valid(checkEdgeStatus({ edge: 'e1', status: 'offline', ts: Date.now(), version: '0.1.0' }));
  invalid(checkEdgeStatus({ edge: 'e1', status: 'gone', ts: Date.now(), version: '0.1.0' }));
  invalid(checkEdgeStatus({ edge: 'e1', status: 'online', ts: Date.now() }));
  for (const error of ['token_missing', 'token_invalid', 'token_expired', 'origin_forbidden', 'not_found', 'too_many_connections'])
    valid(checkHttpError({ error, message: 'x' }));
  invalid(checkHttpError({ error: 'forbidden', message: 'x' }));
  invalid(checkHttpError({ error: 'token_missing' }));
  valid(checkClaims({ sub: 'alice', exp: nowSec() + 60, rooms: ['team-*', 'lobby'], pub: ['team-a'], devices: ['d*'], cmd: ['d1'], dm: ['*'] }));
  valid(checkClaims({ sub: 'd1', kind: 'device' }));
  invalid(checkClaims({ sub: 'a/b' }));
  invalid(checkClaims({ rooms: ['x'] }));
  invalid(checkClaims({ sub: 'a', rooms: ['a/#'] }));
});

scenario('live: every frame kind an edge produces matches its schema', { timeout: 60000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await env.cluster(2);
  const ops = await env.mqtt(broker, { name: 'operator' });
  await ops.sub(topics.status('+'));
  await ops.sub(topics.room('+'));
  await ops.sub(topics.direct('+'));
  await ops.sub(topics.cmd('+'));
  const seen = new Set();

  // HTTP refusal body.
  const refused = await env.connectRefused(e1, { name: 'anon' });
  assert.equal(refused.status, 401);
  valid(checkHttpError(refused.body));
  seen.add('http-error');

  const alice = await env.connect(e1, { user: 'alice', extra: { rooms: ['*'], devices: ['*'], cmd: ['*'] } });
  const bob = await env.connect(e2, { user: 'bob', extra: { rooms: ['*'] } });
  const dev = await env.connect(e2, { claims: { sub: 'd9', kind: 'device', exp: nowSec() + 3600 }, name: 'd9' });
  for (const c of [alice, bob, dev]) valid(checkEdgeFrame(c.welcome));
  assert.equal(dev.welcome.kind, 'device');
  seen.add('welcome');

  valid(checkEdgeFrame(await alice.ok({ op: 'sub', room: 'lobby' })));
  await bob.ok({ op: 'sub', room: 'lobby' });
  valid(checkEdgeFrame(await alice.ok({ op: 'sub', device: 'd9' })));
  seen.add('ok');
  await env.syncTopic(topics.room('lobby'), [alice, bob]);
  await env.syncTopic(topics.telemetry('d9'), [alice]);
  await env.syncTopic(topics.direct('bob'), [bob]);
  await env.syncTopic(topics.cmd('d9'), [dev]);

  const pubOk = await alice.ok({ op: 'pub', room: 'lobby', data: { hello: 'world' } });
  valid(checkEdgeFrame(pubOk));
  assert.ok(pubOk.id && pubOk.ts, 'ok for pub carries id and ts');
  const m = await bob.next((f) => f.op === 'msg' && f.id === pubOk.id, 10000, 'room msg');
  valid(checkEdgeFrame(m));
  seen.add('msg(room)');
  const env1 = await ops.next((x) => x.topic === topics.room('lobby') && x.json?.id === pubOk.id, 10000, 'room envelope on MQTT');
  valid(checkEnvelope(env1.json));
  seen.add('envelope');

  const sendOk = await alice.ok({ op: 'send', to: 'bob', data: 'psst' });
  const dm = await bob.next((f) => f.op === 'msg' && f.to === 'bob', 10000, 'direct msg');
  valid(checkEdgeFrame(dm));
  assert.equal(dm.id, sendOk.id);
  const env2 = await ops.next((x) => x.topic === topics.direct('bob') && x.json?.id === sendOk.id, 10000, 'direct envelope on MQTT');
  valid(checkEnvelope(env2.json));
  seen.add('msg(direct)');

  const telOk = await dev.ok({ op: 'telemetry', data: { t: 20 } });
  valid(checkEdgeFrame(telOk));
  const tel = await alice.next((f) => f.op === 'telemetry' && f.device === 'd9' && f.data?.t === 20, 10000, 'telemetry');
  valid(checkEdgeFrame(tel));
  seen.add('telemetry');

  const cmdOk = await alice.ok({ op: 'cmd', device: 'd9', data: { on: true } });
  const cmd = await dev.next((f) => f.op === 'cmd', 10000, 'cmd at device');
  valid(checkEdgeFrame(cmd));
  assert.equal(cmd.id, cmdOk.id);
  const env3 = await ops.next((x) => x.topic === topics.cmd('d9') && x.json?.id === cmdOk.id, 10000, 'cmd envelope on MQTT');
  valid(checkEnvelope(env3.json));
  seen.add('cmd');

  const pong = await alice.request({ op: 'ping', ref: 42 });
  assert.equal(pong.op, 'pong');
  valid(checkEdgeFrame(pong));
  seen.add('pong');

  const err = await alice.request({ op: 'sub', room: 'a/b' }, { raw: true });
  assert.equal(err.op, 'error');
  valid(checkEdgeFrame(err));
  seen.add('error');

  const refOk = await alice.ok({ op: 'refresh', token: env.token('alice', { rooms: ['*'] }) });
  valid(checkEdgeFrame(refOk));
  assert.ok('exp' in refOk, 'ok for refresh carries exp');
  seen.add('ok(exp)');

  const st = await ops.next((x) => x.topic === topics.status('e1'), 10000, 'edge status');
  valid(checkEdgeStatus(st.json));
  seen.add('edge-status');

  assert.deepEqual([...seen].sort(), ['cmd', 'envelope', 'edge-status', 'error', 'http-error', 'msg(direct)', 'msg(room)', 'ok', 'ok(exp)', 'pong', 'telemetry', 'welcome'].sort());
});

test('rpc frames and the backend answer from PROTOCOL.md section 11', () => {
  valid(checkClientFrame({ op: 'rpc', method: 'whoami', ref: 1 }));
  valid(checkClientFrame({ op: 'rpc', method: 'orders.get', data: { id: 7 }, ref: 'a' }));
  invalid(checkClientFrame({ op: 'rpc', method: 'whoami' }));
  invalid(checkClientFrame({ op: 'rpc', method: 'a/b', ref: 1 }));
  valid(checkEdgeFrame({ op: 'ok', ref: 1, data: { user: 'alice' } }));
  valid(checkEdgeFrame({ op: 'error', ref: 1, code: 'no_backend', message: 'x' }));
  valid(checkEdgeFrame({ op: 'error', ref: 1, code: 'out_of_stock', message: 'x' }));
  valid(checkRpcReply({ data: null }));
  valid(checkRpcReply({ error: { code: 'out_of_stock', message: 'sold out' } }));
  invalid(checkRpcReply({ data: 1, error: { code: 'x' } }));
  invalid(checkRpcReply({ error: { code: 'Bad Code' } }));
  invalid(checkRpcReply({ result: 1 }));
});
