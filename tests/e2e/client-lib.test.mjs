// The browser client library (examples/web/mqedge.js) against real edges, in Node with npm `ws` as its
// WebSocket: the behaviour the demo page relies on but a browser test cannot provoke on purpose.
//   1. requests settle by ref (ok / error code), rooms survive an edge crash (reconnect + re-join),
//      the heartbeat notices an edge that stopped answering (SIGSTOP) and redials when it is back;
//   2. the inbox across two edges and two "tabs": backlog counted once, the re-pushed backlog after a
//      reconnect is not shown twice, read marks from the other tab lower the count, paging, read-all,
//      mute settings; a token is refreshed before it expires; an expired fixed token stops redialling.
//   3. history rooms (PROTOCOL.md section 10), first against a scripted edge (the exact frames the
//      library sends and what it makes of the replies: `since`, dedup by offset, `resume`), then
//      against real edges: the library's socket is cut, another user publishes meanwhile, and after
//      the automatic reconnect (held until the messages are out, by holding getToken) the app sees
//      every missed message once, in order, then `resume` with recovered:true, on the same edge and
//      on the other one; with the position lost (the window of 3 exceeded; the only edge following
//      the room restarted, so a new epoch) it sees recovered:false with nothing replayed, reloads
//      with `history`, and new messages continue from the ok's position. Presence events survive
//      the reconnects.
//   4. rpc (PROTOCOL.md section 11) through a real edge and broker to examples/backend/rpc-worker.mjs:
//      no_backend before the worker runs; answers (whoami takes the caller from the edge, not from
//      the payload), the worker's own error codes, the edge's timeout, the client's own timeout (and
//      its late reply is no error event), forbidden by the token's rpc claim, disconnected when the
//      socket goes; after the worker's SIGTERM (exit 0) no_backend again.
//   5. broker failover (PROTOCOL.md section 12): the edge's broker is killed and the edge moves to the
//      next of its list; the library's connection stays open (no disconnect), it emits one `resync`
//      with the edge's unread count, and room traffic goes on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { scenario, waitFor, delay, httpGet, topics, nowSec, userClaims } from '../integration/lib/harness.mjs';
import { MqEdge } from '../../examples/web/mqedge.js';
import { startRpcWorker } from '../integration/lib/rpc-worker.mjs';

// An MqEdge with every event recorded in `ev` (name → [args]), and the room messages and resume
// outcomes in one list, in the order the app saw them (`seq`: 'text' for a message whose data has
// a text, 'resume:ROOM:true|false' for a resume).
function client(env, url, opts) {
  const c = new MqEdge({ url, WebSocket, backoffBaseMs: 100, backoffMaxMs: 1000, ...opts });
  c.ev = {};
  c.seq = [];
  for (const name of ['connect', 'disconnect', 'state', 'message', 'telemetry', 'notify', 'read', 'unread', 'backlog', 'error', 'resume', 'join', 'leave', 'resync']) {
    c.ev[name] = [];
    c.on(name, (x) => c.ev[name].push(x));
  }
  c.on('message', (m) => c.seq.push(m.data?.text ?? m.id));
  c.on('resume', (r) => c.seq.push(`resume:${r.room}:${r.recovered}`));
  env.onCleanup(() => c.close());
  return c;
}

const claims = (sub, extra = {}) => userClaims(sub, { rooms: ['lobby', 'team-*'], devices: ['*'], cmd: ['*'], ...extra });

async function stored(edge) {
  const r = await httpGet(edge.port, '/metrics');
  return Number(/^mqedge_inbox_stored_total (\d+)$/m.exec(r.body)?.[1] ?? NaN);
}

scenario('mqedge.js: requests by ref, re-join after an edge crash, heartbeat detects a frozen edge', { timeout: 45000 }, async (env) => {
  const { edges: [edge] } = await env.cluster(1);
  const backend = await env.mqtt();
  const alice = client(env, edge.url, {
    getToken: async () => env.token(claims('alice')),
    heartbeatMs: 300,
    heartbeatTimeoutMs: 500,
    requestTimeoutMs: 2000,
    stableMs: 100,
  });
  alice.connect();

  await alice.join('lobby');
  await assert.rejects(alice.join('secret'), { code: 'forbidden' });
  assert.deepEqual([...alice.rooms], ['lobby'], 'a refused room is not kept for re-joining');
  await assert.rejects(alice.request({ op: 'nope' }), { code: 'unknown_op' });
  const sent = await alice.publish('lobby', { text: 'hi' });
  await waitFor(() => alice.ev.message.some((m) => m.id === sent.id), { what: 'own message back' });
  assert.equal(typeof (await alice.ping()), 'number');

  // The edge crashes and comes back: reconnect, re-join, messages flow again.
  await edge.restart();
  await waitFor(() => alice.ev.connect.length === 2, { what: 'reconnected after the crash' });
  assert.ok(alice.ev.disconnect.length >= 1);
  const n = alice.ev.message.length;
  let k = 0;
  await waitFor(async () => {
    await backend.pub(topics.room('lobby'), { v: 1, id: `probe-${k++}`, data: { text: 'after restart' } });
    return alice.ev.message.length > n;
  }, { what: 'room message after re-join', intervalMs: 200 });
  // the same envelope id published again is not shown again: republish a probe alice did get (the
  // first probes may have been published before the re-join's subscription was active)
  const seenProbe = alice.ev.message.find((m) => m.data?.text === 'after restart');
  await backend.pub(topics.room('lobby'), { v: 1, id: seenProbe.id, data: { text: 'again' } });
  await alice.publish('lobby', { text: 'marker' });
  await waitFor(() => alice.ev.message.some((m) => m.data?.text === 'marker'), { what: 'marker' });
  const ids = alice.ev.message.map((m) => m.id);
  assert.equal(new Set(ids).size, ids.length, `every message once: ${ids.join(' ')}`);
  assert.ok(!alice.ev.message.some((m) => m.data?.text === 'again'));

  // A frozen edge (SIGSTOP) keeps the TCP connection open but answers nothing: the heartbeat drops it.
  edge.proc.signal('SIGSTOP');
  try {
    await waitFor(() => alice.ev.disconnect.some((d) => d.code === 4000 && /heartbeat/.test(d.reason)), { what: 'heartbeat timeout', timeoutMs: 5000 });
  } finally {
    edge.proc.signal('SIGCONT');
    edge.proc.signalled = null;
  }
  await waitFor(() => alice.ev.connect.length === 3 && alice.state === 'open', { what: 'reconnected after SIGCONT', timeoutMs: 10000 });
  await alice.publish('lobby', { text: 'alive' });
  assert.equal(alice.ev.error.length, 0, `no stray errors: ${alice.ev.error.map((e) => e.message).join('; ')}`);
});

scenario('mqedge.js: inbox across edges and tabs, dedupe across reconnects, paging, settings, token refresh', { timeout: 45000 }, async (env) => {
  const { edges: [e1, e2] } = await env.cluster(2);
  const backend = await env.mqtt();
  const note = (id, title, extra = {}) => backend.pub(`mqedge/v1/user/bob/notify`, { id, kind: 'mailbox', actor: 'carol', title, ...extra });

  const s0 = [await stored(e1), await stored(e2)];
  for (const i of [1, 2, 3]) await note(`n${i}`, `note ${i}`);
  await waitFor(async () => (await stored(e1)) >= s0[0] + 3 && (await stored(e2)) >= s0[1] + 3, { what: 'three stored on both edges' });

  const tabA = client(env, e1.url, { getToken: async () => env.token(claims('bob')) });
  const tabB = client(env, e2.url, { getToken: async () => env.token(claims('bob')) });
  for (const t of [tabA, tabB]) {
    t.connect();
    await waitFor(() => t.ev.backlog.length === 1, { what: 'backlog' });
    assert.equal(t.unread, 3);
    assert.deepEqual(t.ev.notify.map((x) => [x.id, x.backlog, x.read]), [['n1', true, false], ['n2', true, false], ['n3', true, false]]);
  }

  // a live one: counted once on each tab
  await note('n4', 'note 4');
  for (const t of [tabA, tabB]) await waitFor(() => t.unread === 4 && t.ev.notify.length === 4, { what: 'live notify' });
  assert.equal(tabA.ev.notify[3].backlog, false);

  // tab B's edge restarts: the backlog is pushed again, but nothing is shown twice
  await e2.restart();
  await waitFor(() => tabB.ev.connect.length === 2 && tabB.ev.backlog.length === 2, { what: 'tab B back with its backlog' });
  assert.equal(tabB.ev.notify.length, 4, 'no notification emitted twice');
  assert.equal(tabB.unread, 4);

  // read in tab A → B's count drops (read sync through the broker)
  assert.equal(await tabA.markRead(['n1']), 3);
  await waitFor(() => tabB.unread === 3, { what: 'tab B sees the read mark' });
  assert.ok(tabB.ev.read.some((r) => r.ids?.includes('n1')));
  assert.equal(tabB.notifications.get('n1').read, true);

  // paging, newest first
  const p1 = await tabA.inbox({ limit: 2 });
  assert.deepEqual(p1.items.map((x) => x.id), ['n4', 'n3']);
  assert.equal(p1.more, true);
  const p2 = await tabA.inbox({ before: 'n3', limit: 2 });
  assert.deepEqual(p2.items.map((x) => [x.id, x.read]), [['n2', false], ['n1', true]]);
  assert.equal(p2.unread, 3);

  assert.equal(await tabB.markAllRead(), 0);
  await waitFor(() => tabA.unread === 0, { what: 'tab A at 0 after read-all in B' });

  assert.deepEqual(await tabA.settings(['remind:liked']), ['remind:liked']);
  assert.deepEqual(await tabA.settings(), ['remind:liked']);

  // token refresh: a 4-second token, refreshed before it runs out; the connection outlives it
  let minted = 0;
  let firstExp = null;
  const carol = client(env, e1.url, {
    refreshMarginS: 1,
    getToken: async () => {
      minted++;
      return env.token(claims('carol', { exp: nowSec() + 4 }));
    },
  });
  carol.connect();
  await waitFor(() => carol.ev.connect.length === 1, { what: 'carol connected' });
  firstExp = carol.welcome.exp;
  await delay(5500);
  assert.ok(minted >= 2, `getToken called for the refresh (${minted})`);
  assert.equal(carol.ev.disconnect.length, 0, 'no disconnect: refreshed before exp');
  assert.ok(carol.welcome.exp > firstExp, 'exp moved forward');
  await carol.ping();

  // an expired fixed token: an error, and no redial loop
  const dave = client(env, e1.url, { token: env.token(claims('dave', { exp: nowSec() - 10 })) });
  dave.connect();
  await waitFor(() => dave.state === 'closed', { what: 'dave closed' });
  assert.equal(dave.ev.error[0]?.code, 'token_expired');

  for (const t of [tabA, tabB, carol]) assert.equal(t.ev.error.length, 0, `${t.welcome.user}: ${t.ev.error.map((e) => e.message).join('; ')}`);
});

// ---- history rooms: resume ---------------------------------------------------------------------

// A WebSocket stand-in the test plays the edge through: `sent` holds the frames the library sent
// (parsed), `edge(frame)` delivers one, `cut()` closes the connection as a network failure would.
class ScriptedWs {
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = 1;
    this.sent = [];
    ScriptedWs.all.push(this);
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() { this.readyState = 3; }
  edge(frame) { this.onmessage?.({ data: JSON.stringify(frame) }); }
  cut() {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: '' });
  }
  // The last frame sent with op (and room) that has not been answered yet.
  async request(op, room) {
    const f = await waitFor(() => this.sent.find((x) => x.op === op && (room === undefined || x.room === room) && !x.answered),
      { what: `${op} ${room ?? ''} sent`, timeoutMs: 2000, intervalMs: 5 });
    f.answered = true;
    return f;
  }
}

test('mqedge.js against a scripted edge: position from ok and msgs, since on re-join, dedup by offset, resume outcomes, history, presence', async () => {
  const c = new MqEdge({ url: 'ws://edge.test/ws', token: 'x.e30.x', WebSocket: ScriptedWs, backoffBaseMs: 1, heartbeatMs: 1e7 });
  const log = [];
  c.on('message', (m) => log.push(`msg ${m.room} ${m.epoch ?? '-'}/${m.offset ?? '-'} ${m.id}`));
  c.on('resume', (r) => log.push(`resume ${JSON.stringify(r)}`));
  c.on('join', (j) => log.push(`join ${j.room} ${j.user}`));
  c.on('leave', (j) => log.push(`leave ${j.room} ${j.user}`));
  c.on('error', (e) => log.push(`error ${e.message}`));
  const welcome = { op: 'welcome', session: 's', user: 'u', kind: 'user', edge: 'e', ts: 1, exp: null, limits: {} };
  const msg = (room, epoch, offset, id) => ({ op: 'msg', id, room, from: 'b', ts: 1, ...(epoch ? { epoch, offset } : {}), data: { text: id } });
  let conns = 0;
  const connected = async () => {
    const ws = await waitFor(() => ScriptedWs.all[conns], { what: `connection ${conns + 1}`, timeoutMs: 2000, intervalMs: 5 });
    conns++;
    ws.edge(welcome);
    return ws;
  };
  try {
    c.connect();
    let ws = await connected();

    // first join: a plain sub (with presence as asked); the ok's position is the client's
    const joined = c.join('h', { presence: true });
    const sub1 = await ws.request('sub', 'h');
    assert.deepEqual({ ...sub1, ref: undefined, answered: undefined }, { op: 'sub', room: 'h', presence: true, ref: undefined, answered: undefined });
    ws.edge({ op: 'ok', ref: sub1.ref, epoch: 'E1', offset: 2 });
    assert.deepEqual(await joined, { room: 'h', history: true, epoch: 'E1', offset: 2 });
    const plain = c.join('p');
    const subP = await ws.request('sub', 'p');
    assert.equal(subP.since, undefined);
    ws.edge({ op: 'ok', ref: subP.ref });
    assert.deepEqual(await plain, { room: 'p', history: false, epoch: null, offset: null });

    // messages move the position; one at or before it (same epoch) is dropped whatever its id
    ws.edge(msg('h', 'E1', 3, 'a3'));
    ws.edge(msg('h', 'E1', 3, 'a3-again'));
    ws.edge(msg('h', 'E1', 2, 'a2'));
    ws.edge(msg('h', 'E1', 4, 'a4'));
    ws.edge(msg('h', 'E1', 4, 'a4'));
    ws.edge(msg('p', null, null, 'p1'));
    ws.edge(msg('p', null, null, 'p1'));
    ws.edge({ op: 'join', room: 'h', user: 'bob' });
    ws.edge({ op: 'leave', room: 'h', user: 'bob' });
    assert.deepEqual(c.position('h'), { epoch: 'E1', offset: 4 });
    assert.equal(c.position('p'), null);

    // cut: the re-join offers the position; the replay is emitted, then `resume` (recovered)
    ws.cut();
    ws = await connected();
    const subH = await ws.request('sub', 'h');
    assert.deepEqual(subH.since, { epoch: 'E1', offset: 4 });
    assert.equal(subH.presence, true, 'presence asked again');
    const subP2 = await ws.request('sub', 'p');
    assert.equal(subP2.since, undefined, 'no position, no since');
    ws.edge(msg('h', 'E1', 5, 'a5'));
    ws.edge(msg('h', 'E1', 6, 'a6'));
    ws.edge(msg('h', 'E1', 6, 'a6-dup'));
    ws.edge({ op: 'ok', ref: subH.ref, recovered: true, epoch: 'E1', offset: 6 });
    ws.edge({ op: 'ok', ref: subP2.ref });
    ws.edge(msg('h', 'E1', 7, 'a7'));
    await waitFor(() => log.includes('msg h E1/7 a7'), { what: 'a7', timeoutMs: 1000, intervalMs: 5 });

    // cut again: the edge cannot resume (another epoch): nothing replayed, the ok's position wins
    ws.cut();
    ws = await connected();
    const subH2 = await ws.request('sub', 'h');
    assert.deepEqual(subH2.since, { epoch: 'E1', offset: 7 });
    ws.edge({ op: 'ok', ref: (await ws.request('sub', 'p')).ref });
    ws.edge({ op: 'ok', ref: subH2.ref, recovered: false, reason: 'epoch', epoch: 'E2', offset: 9 });
    await waitFor(() => c.position('h')?.epoch === 'E2', { what: 'new position', timeoutMs: 1000, intervalMs: 5 });
    ws.edge(msg('h', 'E2', 9, 'b9')); // covered by the reload the app does
    ws.edge(msg('h', 'E2', 10, 'b10'));

    // history and presence requests
    const hp = c.history('h', { limit: 2, before: 10 });
    const hreq = await ws.request('history', 'h');
    assert.deepEqual([hreq.limit, hreq.before], [2, 10]);
    ws.edge({ op: 'history', ref: hreq.ref, room: 'h', epoch: 'E2', msgs: [msg('h', 'E2', 8, 'b8'), msg('h', 'E2', 9, 'b9')], more: true });
    const h = await hp;
    assert.deepEqual([h.room, h.epoch, h.msgs.map((m) => m.offset), h.more], ['h', 'E2', [8, 9], true]);
    const pp = c.presence('h');
    const preq = await ws.request('presence', 'h');
    ws.edge({ op: 'ok', ref: preq.ref, room: 'h', users: 1, conns: 2, members: [{ user: 'u', conns: 2 }] });
    assert.deepEqual(await pp, { room: 'h', users: 1, conns: 2, members: [{ user: 'u', conns: 2 }] });
    const bad = c.history('p');
    const breq = await ws.request('history', 'p');
    ws.edge({ op: 'error', ref: breq.ref, code: 'bad_request', message: 'no history' });
    await assert.rejects(bad, { code: 'bad_request' });

    // an edge that refuses `since` (bad_request): subscribed plainly, reported as no_history
    ws.cut();
    ws = await connected();
    const subH3 = await ws.request('sub', 'h');
    assert.deepEqual(subH3.since, { epoch: 'E2', offset: 10 });
    ws.edge({ op: 'ok', ref: (await ws.request('sub', 'p')).ref });
    ws.edge({ op: 'error', ref: subH3.ref, code: 'bad_request', message: 'since?' });
    const subH4 = await ws.request('sub', 'h');
    assert.equal(subH4.since, undefined);
    ws.edge({ op: 'ok', ref: subH4.ref });
    await waitFor(() => log.some((l) => l.includes('no_history')), { what: 'no_history', timeoutMs: 1000, intervalMs: 5 });
    assert.equal(c.position('h'), null);

    // no position to offer but the room turns out to keep history: the app cannot know what it missed
    ws.cut();
    ws = await connected();
    const subH5 = await ws.request('sub', 'h');
    assert.equal(subH5.since, undefined);
    ws.edge({ op: 'ok', ref: (await ws.request('sub', 'p')).ref });
    ws.edge({ op: 'ok', ref: subH5.ref, epoch: 'E3', offset: 1 });
    await waitFor(() => log.some((l) => l.includes('no_position')), { what: 'no_position', timeoutMs: 1000, intervalMs: 5 });

    // leave forgets the position: joining again is a fresh join, not a resume
    const left = c.leave('h');
    ws.edge({ op: 'ok', ref: (await ws.request('unsub', 'h')).ref });
    await left;
    assert.equal(c.position('h'), null);

    const R = (o) => `resume ${JSON.stringify(o)}`;
    assert.deepEqual(log, [
      'msg h E1/3 a3', 'msg h E1/4 a4', 'msg p -/- p1', 'join h bob', 'leave h bob',
      'msg h E1/5 a5', 'msg h E1/6 a6',
      R({ room: 'h', history: true, epoch: 'E1', offset: 6, recovered: true, reason: null, missed: 2, since: { epoch: 'E1', offset: 4 } }),
      'msg h E1/7 a7',
      R({ room: 'h', history: true, epoch: 'E2', offset: 9, recovered: false, reason: 'epoch', missed: 0, since: { epoch: 'E1', offset: 7 } }),
      'msg h E2/10 b10',
      R({ room: 'h', history: false, epoch: null, offset: null, recovered: false, reason: 'no_history', missed: 0, since: { epoch: 'E2', offset: 10 } }),
      R({ room: 'h', history: true, epoch: 'E3', offset: 1, recovered: false, reason: 'no_position', missed: 0, since: null }),
    ]);
  } finally {
    c.close();
  }
});

// Edge flags for the real scenarios (a window of `size` messages per room; an edge that finds no
// other edge following a room starts a new epoch after 300 ms).
const history = (rooms, size = 100) => ['--history-rooms', rooms, '--history-size', String(size), '--history-fetch-timeout', '300'];
const roomClaims = (sub) => claims(sub, { rooms: ['chat-*', 'tiny-*', 'lobby'] });
const EPOCH = /^[0-9a-f]{16}$/;

// Holds the library's reconnects: getToken waits while the gate is held.
function gate() {
  let open = Promise.resolve();
  let release = () => {};
  return {
    hold() { open = new Promise((r) => { release = r; }); },
    release: () => release(),
    wait: () => open,
  };
}

// The library's sockets, so the test can cut one as the network would (no close frame).
function trackedWs() {
  const sockets = [];
  class Tracked extends WebSocket {
    constructor(...a) {
      super(...a);
      sockets.push(this);
    }
  }
  return { Tracked, last: () => sockets[sockets.length - 1] };
}

const texts = (c, room) => c.ev.message.filter((m) => m.room === room).map((m) => m.data?.text);

// every listed text received by c (each once) in room
const gotAll = (c, room, list) => waitFor(() => list.every((t) => texts(c, room).includes(t)), { what: `${list.at(-1)} at ${c.welcome?.user}` });

scenario('mqedge.js history room: a cut socket resumes with every missed message once, in order, recovered (same edge, then the other edge)', { timeout: 45000 }, async (env) => {
  const { edges: [e1, e2] } = await env.cluster(2, { extra: [...history('chat-*'), '--presence-rooms', 'chat-*'] });
  const g = gate();
  const ws = trackedWs();
  const alice = client(env, e1.url, { WebSocket: ws.Tracked, getToken: async () => { await g.wait(); return env.token(roomClaims('alice')); } });
  const bob = client(env, e2.url, { getToken: async () => env.token(roomClaims('bob')) });
  const carol = client(env, e1.url, { getToken: async () => env.token(roomClaims('carol')) }); // keeps e1's window in view
  for (const c of [alice, bob, carol]) c.connect();

  const ROOM = 'chat-1';
  const ja = await alice.join(ROOM, { presence: true });
  assert.equal(ja.history, true);
  assert.match(ja.epoch, EPOCH);
  assert.equal(ja.offset, 0, 'a new room: no message yet');
  const jb = await bob.join(ROOM);
  const jc = await carol.join(ROOM);
  assert.deepEqual([jb.epoch, jb.offset, jc.epoch, jc.offset], [ja.epoch, 0, ja.epoch, 0], 'every edge agrees on the position');
  await waitFor(() => ['bob', 'carol'].every((u) => alice.ev.join.some((j) => j.room === ROOM && j.user === u)), { what: 'alice sees bob and carol join' });

  const publish = async (list) => { for (const t of list) await bob.publish(ROOM, { text: t }); };
  const before = ['b1', 'b2', 'b3'];
  await publish(before);
  await gotAll(alice, ROOM, before);
  assert.deepEqual(alice.position(ROOM), { epoch: ja.epoch, offset: 3 });

  // 1. cut alice's socket; bob publishes 5 messages while she is away; she comes back to e1
  const missed1 = ['m1', 'm2', 'm3', 'm4', 'm5'];
  g.hold();
  ws.last().terminate();
  await waitFor(() => alice.ev.disconnect.length === 1, { what: 'alice disconnected' });
  await publish(missed1);
  await gotAll(bob, ROOM, missed1);
  await gotAll(carol, ROOM, missed1); // e1's window has them too
  g.release();
  await waitFor(() => alice.ev.resume.length === 1, { what: 'first resume' });
  assert.deepEqual(alice.ev.resume[0], { room: ROOM, history: true, epoch: ja.epoch, offset: 8, recovered: true, reason: null, missed: 5, since: { epoch: ja.epoch, offset: 3 } });
  assert.equal(alice.ev.connect.at(-1).edge, 'e1');

  // 2. again, and this time she comes back on the other edge
  const missed2 = ['n1', 'n2', 'n3'];
  g.hold();
  ws.last().terminate();
  await waitFor(() => alice.ev.disconnect.length === 2, { what: 'alice disconnected again' });
  await publish(missed2);
  await gotAll(bob, ROOM, missed2);
  alice.opts.url = e2.url;
  g.release();
  await waitFor(() => alice.ev.resume.length === 2, { what: 'second resume' });
  assert.equal(alice.ev.connect.at(-1).edge, 'e2');
  assert.deepEqual(alice.ev.resume[1], { room: ROOM, history: true, epoch: ja.epoch, offset: 11, recovered: true, reason: null, missed: 3, since: { epoch: ja.epoch, offset: 8 } });

  // live again; presence events still come (the re-join asked for them again)
  await publish(['live']);
  await gotAll(alice, ROOM, ['live']);
  const erin = client(env, e1.url, { getToken: async () => env.token(roomClaims('erin')) });
  erin.connect();
  await erin.join(ROOM);
  await waitFor(() => alice.ev.join.some((j) => j.user === 'erin'), { what: 'alice sees erin join' });
  const who = await alice.presence(ROOM);
  assert.deepEqual(who.members.map((m) => m.user).sort(), ['alice', 'bob', 'carol', 'erin']);
  erin.close();
  await waitFor(() => alice.ev.leave.some((j) => j.user === 'erin'), { what: 'alice sees erin leave' });

  // what the app saw: every message once, in order, the resumes right after their missed messages
  assert.deepEqual(alice.seq, [...before, ...missed1, `resume:${ROOM}:true`, ...missed2, `resume:${ROOM}:true`, 'live']);
  const ms = alice.ev.message.filter((m) => m.room === ROOM);
  assert.deepEqual(ms.map((m) => [m.epoch, m.offset]), ms.map((_, i) => [ja.epoch, i + 1]), 'offsets 1..12 in one epoch');
  assert.deepEqual(carol.seq, [...before, ...missed1, ...missed2, 'live'], 'carol, never cut, saw the same stream');
  for (const c of [alice, bob, carol]) assert.equal(c.ev.error.length, 0, `${c.welcome.user}: ${c.ev.error.map((e) => e.message).join('; ')}`);
});

scenario('mqedge.js history room: position lost (window of 3 exceeded; the only edge following the room restarted) → recovered:false, nothing replayed, reload with history', { timeout: 45000 }, async (env) => {
  const { edges: [e1, e2] } = await env.cluster(2, { extra: history('tiny-*,chat-*', 3) });
  const g = gate();
  const ws = trackedWs();
  const alice = client(env, e1.url, { WebSocket: ws.Tracked, getToken: async () => { await g.wait(); return env.token(roomClaims('alice')); } });
  const bob = client(env, e2.url, { getToken: async () => env.token(roomClaims('bob')) });
  for (const c of [alice, bob]) c.connect();

  // 1. too_old: alice at offset 2, five messages go by while she is away, the window keeps 3
  const T = 'tiny-1';
  const ja = await alice.join(T);
  await bob.join(T);
  for (const t of ['t1', 't2']) await bob.publish(T, { text: t });
  await gotAll(alice, T, ['t1', 't2']);
  const missed = ['t3', 't4', 't5', 't6', 't7'];
  g.hold();
  ws.last().terminate();
  await waitFor(() => alice.ev.disconnect.length === 1, { what: 'alice disconnected' });
  for (const t of missed) await bob.publish(T, { text: t });
  await gotAll(bob, T, missed);
  alice.opts.url = e2.url; // bob's edge: its window surely holds t7
  g.release();
  await waitFor(() => alice.ev.resume.length === 1, { what: 'resume' });
  assert.deepEqual(alice.ev.resume[0], { room: T, history: true, epoch: ja.epoch, offset: 7, recovered: false, reason: 'too_old', missed: 0, since: { epoch: ja.epoch, offset: 2 } });
  assert.deepEqual(alice.seq, ['t1', 't2', `resume:${T}:false`], 'nothing replayed');
  // the app reloads from the window: the newest three, oldest first, in pages
  const page = await alice.history(T);
  assert.deepEqual([page.epoch, page.msgs.map((m) => [m.offset, m.data.text]), page.more], [ja.epoch, [[5, 't5'], [6, 't6'], [7, 't7']], false]);
  const p1 = await alice.history(T, { limit: 2 });
  assert.deepEqual([p1.msgs.map((m) => m.offset), p1.more], [[6, 7], true]);
  const p2 = await alice.history(T, { limit: 2, before: 6 });
  assert.deepEqual([p2.msgs.map((m) => m.offset), p2.more], [[5], false]);
  await assert.rejects(alice.history('tiny-other'), { code: 'not_subscribed' });
  await alice.join('lobby');
  await assert.rejects(alice.history('lobby'), { code: 'bad_request' });
  // and goes on from the ok's position
  await bob.publish(T, { text: 't8' });
  await gotAll(alice, T, ['t8']);
  assert.deepEqual(alice.ev.message.filter((m) => m.room === T).map((m) => [m.offset, m.data.text]), [[1, 't1'], [2, 't2'], [8, 't8']]);

  // 2. epoch: dave alone follows chat-solo, on e1; e1 is killed and restarted, so nobody kept the
  // room's stream: the position names an epoch that no longer exists
  const S = 'chat-solo';
  const g2 = gate();
  const dave = client(env, e1.url, { getToken: async () => { await g2.wait(); return env.token(roomClaims('dave')); } });
  dave.connect();
  const jd = await dave.join(S);
  for (const t of ['s1', 's2']) await dave.publish(S, { text: t });
  await gotAll(dave, S, ['s1', 's2']);
  assert.deepEqual(dave.position(S), { epoch: jd.epoch, offset: 2 });
  g2.hold();
  await e1.restart();
  await waitFor(() => dave.ev.disconnect.length === 1, { what: 'dave disconnected' });
  g2.release();
  await waitFor(() => dave.ev.resume.length === 1, { what: 'dave resume', timeoutMs: 15000 });
  const r = dave.ev.resume[0];
  assert.match(r.epoch, EPOCH);
  assert.notEqual(r.epoch, jd.epoch, 'a new epoch');
  assert.deepEqual(r, { room: S, history: true, epoch: r.epoch, offset: 0, recovered: false, reason: 'epoch', missed: 0, since: { epoch: jd.epoch, offset: 2 } });
  await dave.publish(S, { text: 's3' });
  await gotAll(dave, S, ['s3']);
  assert.deepEqual(dave.seq, ['s1', 's2', `resume:${S}:false`, 's3']);
  assert.deepEqual(dave.ev.message.at(-1).epoch, r.epoch);
  assert.deepEqual(dave.position(S), { epoch: r.epoch, offset: 1 });
  for (const c of [alice, bob, dave]) assert.equal(c.ev.error.length, 0, `${c.welcome.user}: ${c.ev.error.map((e) => e.message).join('; ')}`);
});

// ---- rpc -----------------------------------------------------------------------------------------

scenario('mqedge.js rpc through an edge to examples/backend/rpc-worker.mjs: answers, error codes, timeouts, forbidden, disconnected', { timeout: 45000 }, async (env) => {
  const { broker, edges: [edge] } = await env.cluster(1, { extra: ['--rpc-timeouts', 'slow=800'] });
  const ws = trackedWs();
  const alice = client(env, edge.url, { WebSocket: ws.Tracked, getToken: async () => env.token(claims('alice', { rpc: ['*'] })) });
  alice.connect();
  await waitFor(() => alice.state === 'open', { what: 'alice connected' });

  // nobody subscribed yet: the broker says so and the edge answers at once
  const t0 = Date.now();
  await assert.rejects(alice.rpc('whoami'), { code: 'no_backend' });
  assert.ok(Date.now() - t0 < 700, 'no_backend without waiting for the timeout');

  const worker = await startRpcWorker(env, broker, { name: 'w1' });
  const who = await alice.rpc('whoami', { user: 'mallory', kind: 'device' });
  assert.deepEqual(who, { user: 'alice', kind: 'user', session: alice.welcome.session, edge: 'e1', worker: 'w1' }, 'the caller as the edge says, not the payload');
  assert.deepEqual(await alice.rpc('echo', { x: [1, 'ü'], y: null }), { x: [1, 'ü'], y: null });
  assert.equal(await alice.rpc('echo'), null, 'no data: null');
  assert.equal(await alice.rpc('echo', 'text'), 'text');
  assert.deepEqual(await alice.rpc('add', { a: 2, b: 3.5 }), { sum: 5.5 });
  await assert.rejects(alice.rpc('add', { a: '2', b: 3 }), (e) => e.code === 'bad_args' && /add takes/.test(e.frame.message));
  await assert.rejects(alice.rpc('fail'), (e) => e.code === 'failed_on_purpose' && e.name === 'MqEdgeError' && e.frame.message.length > 0);
  await assert.rejects(alice.rpc('nope'), { code: 'unknown_method' });
  assert.deepEqual(await alice.rpc('slow', { ms: 50 }), { slept_ms: 50 });

  // the edge's timeout for slow (800 ms) comes before the worker's answer (10 s)
  const t1 = Date.now();
  await assert.rejects(alice.rpc('slow'), (e) => e.code === 'timeout' && !/no reply to rpc/.test(e.message));
  assert.ok(Date.now() - t1 < 3000, `the edge's timeout, not the client's (${Date.now() - t1} ms)`);
  // the client's own timeout; the edge's answer after it is dropped quietly
  await assert.rejects(alice.rpc('slow', { ms: 600 }, { timeout: 200 }), (e) => e.code === 'timeout' && /no reply to rpc within 200 ms/.test(e.message));
  await delay(700);
  // several at once, answered by ref whatever the order of the answers
  const many = await Promise.all([300, 0, 150].map((ms) => alice.rpc('slow', { ms })));
  assert.deepEqual(many, [{ slept_ms: 300 }, { slept_ms: 0 }, { slept_ms: 150 }]);

  // the token's rpc claim: patterns; absent = nothing
  const bob = client(env, edge.url, { getToken: async () => env.token(claims('bob', { rpc: ['who*'] })) });
  const carol = client(env, edge.url, { getToken: async () => env.token(claims('carol')) });
  bob.connect();
  carol.connect();
  assert.equal((await bob.rpc('whoami')).user, 'bob');
  await assert.rejects(bob.rpc('echo', 1), { code: 'forbidden' });
  await assert.rejects(carol.rpc('whoami'), { code: 'forbidden' });

  // a pending call when the socket goes: disconnected (not repeated after the reconnect)
  const pending = alice.rpc('slow', { ms: 5000 });
  await delay(100);
  ws.last().terminate();
  await assert.rejects(pending, { code: 'disconnected' });
  await waitFor(() => alice.ev.connect.length === 2 && alice.state === 'open', { what: 'alice reconnected' });
  assert.equal((await alice.rpc('whoami')).session, alice.welcome.session, 'the new session');

  // the worker stops cleanly; its subscription went with it
  await worker.stop(5000);
  assert.deepEqual(worker.exit, { code: 0, signal: null }, 'rpc-worker exit status after SIGTERM');
  assert.match(worker.output(), /stopped \(SIGTERM\)/);
  await waitFor(async () => (await alice.rpc('whoami').catch((e) => e.code)) === 'no_backend', { what: 'no_backend after the worker stopped' });
  for (const c of [alice, bob, carol]) assert.equal(c.ev.error.length, 0, `${c.welcome.user}: ${c.ev.error.map((e) => e.message).join('; ')}`);
});

scenario('mqedge.js: its edge fails over to the next broker; the connection stays, one resync event, traffic goes on', { timeout: 45000 }, async (env) => {
  const brokerA = await env.startBroker('brokerA');
  const brokerB = await env.startBroker('brokerB');
  const edge = await env.startEdge({ id: 'e1', brokers: [brokerB, brokerA], extra: ['--broker-failover-after', '1'] });
  const backend = await env.mqtt(brokerB);
  const s0 = await stored(edge);
  for (const i of [1, 2]) await backend.pub('mqedge/v1/user/bob/notify', { id: `f${i}`, kind: 'mailbox', actor: 'carol', title: `note ${i}` });
  await waitFor(async () => (await stored(edge)) >= s0 + 2, { what: 'two stored' });
  const bob = client(env, edge.url, { getToken: async () => env.token(claims('bob')) });
  bob.connect();
  await waitFor(() => bob.ev.backlog.length === 1, { what: 'backlog' });
  assert.equal(bob.unread, 2);
  await bob.join('lobby');

  await brokerB.kill('SIGKILL');
  await waitFor(() => bob.ev.resync.length === 1, { timeoutMs: 10000, what: 'the resync event' });
  assert.equal(bob.ev.resync[0].reason, 'failover');
  assert.equal(bob.ev.resync[0].unread, 2);
  assert.ok(bob.ev.resync[0].ts > bob.ev.resync[0].since);
  await edge.waitReady();
  await bob.publish('lobby', { text: 'after the move' });
  await waitFor(() => bob.seq.includes('after the move'), { what: 'the message through broker A' });
  assert.equal(bob.ev.disconnect.length, 0, 'the connection stayed open');
  assert.equal(bob.ev.connect.length, 1);
  assert.equal(bob.unread, 2);
  await delay(300);
  assert.equal(bob.ev.resync.length, 1, 'one resync');
  assert.deepEqual(bob.ev.error, []);
});
