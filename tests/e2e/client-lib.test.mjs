// The browser client library (examples/web/mqedge.js) against real edges, in Node with npm `ws` as its
// WebSocket: the behaviour the demo page relies on but a browser test cannot provoke on purpose.
//   1. requests settle by ref (ok / error code), rooms survive an edge crash (reconnect + re-join),
//      the heartbeat notices an edge that stopped answering (SIGSTOP) and redials when it is back;
//   2. the inbox across two edges and two "tabs": backlog counted once, the re-pushed backlog after a
//      reconnect is not shown twice, read marks from the other tab lower the count, paging, read-all,
//      mute settings; a token is refreshed before it expires; an expired fixed token stops redialling.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { scenario, waitFor, delay, httpGet, topics, nowSec, userClaims } from '../integration/lib/harness.mjs';
import { MqEdge } from '../../examples/web/mqedge.js';

// An MqEdge with every event recorded in `ev` (name → [args]).
function client(env, url, opts) {
  const c = new MqEdge({ url, WebSocket, backoffBaseMs: 100, backoffMaxMs: 1000, ...opts });
  c.ev = {};
  for (const name of ['connect', 'disconnect', 'state', 'message', 'telemetry', 'notify', 'read', 'unread', 'backlog', 'error']) {
    c.ev[name] = [];
    c.on(name, (x) => c.ev[name].push(x));
  }
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
