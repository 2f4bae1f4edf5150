// Broker failover (PROTOCOL.md section 12, ARCHITECTURE.md "Broker failover"). Two Mosquitto brokers on
// loopback, A and B, not bridged; one edge started with `--broker B,A --broker-failover-after 2`. Clients
// on it: alice and bob in room "lobby" (presence) and in history room "hist". Before the fault a
// notification for bob is acknowledged (HTTP 201) and pushed. Then B hangs (SIGSTOP) so that a client
// publish and an HTTP notification are in flight on the edge's two sessions (the edge's
// mqedge_broker_pending says so), and B is killed (SIGKILL). The edge keeps trying B for the failover
// time, then moves both sessions to A. Pinned:
//   - the move: not before 2 s after the kill, ready on A within 2 s + 3 s; mqedge_broker_failovers_total 1,
//     mqedge_broker_info names A with index 1, one mqtt_failover log line per session;
//   - nothing in flight is silent: the client publish gets ok (republished on A) and is delivered once, the
//     HTTP notification gets 201 (republished on A) and bob has it once (pushed at the POST, never again);
//   - every session gets exactly one resync frame (reason failover, since = the loss, unread = bob's 2);
//   - the connections stay open, and room messages published after the move by alice (on the edge) and by
//     an MQTT client on A reach both members exactly once, in publish order;
//   - on A: the edge's retained status online, its presence list of lobby, its inbox session subscribed,
//     the token revocations loaded again (a second revocations_loaded, /readyz 200), and its last will
//     (SIGKILL of the edge at the end: offline on A);
//   - a resume of "hist" with the position from before answers recovered:false, reason epoch (the window
//     was lost with the session), and the notification acknowledged before the kill is in bob's inbox once.
// Second scenario: B is down when the edge starts with `--broker B,A`: it starts on A after the failover
// time, no resync (nobody was connected, nothing was lost), and traffic flows on A.
import assert from 'node:assert/strict';
import { scenario, topics, waitFor, counts, PREFIX } from './lib/harness.mjs';
import { API_KEY, api, metrics, waitInboxSubscribed, inboxAll, mailbox } from './lib/inbox.mjs';

const FAILOVER_S = 2;
const MOVE_BOUND_MS = 3000; // after the failover time: connect, CONNACK, resubscribe, barrier
const EDGE_FLAGS = ['--broker-failover-after', String(FAILOVER_S), '--api-key', API_KEY, '--presence-rooms', 'lobby', '--history-rooms', 'hist'];
const CLAIMS = { rooms: ['lobby', 'hist'] };

const brokerInfo = (m, broker, index) => m.get(`mqedge_broker_info{broker="127.0.0.1:${broker.port}",index="${index}"}`);
const logCount = (edge, re) => edge.proc.lines.filter((l) => re.test(l)).length;

scenario('failover: broker B killed under clients; the edge moves to A and nothing is lost silently', { timeout: 90000 }, async (env) => {
  const brokerA = await env.startBroker('brokerA');
  const brokerB = await env.startBroker('brokerB');
  const e1 = await env.startEdge({ id: 'e1', brokers: [brokerB, brokerA], extra: EDGE_FLAGS });
  await waitInboxSubscribed(brokerB, e1);
  {
    const m = await metrics(e1);
    assert.equal(brokerInfo(m, brokerB, 0), 1, 'starts on the first broker of the list');
    assert.equal(m.get('mqedge_broker_failovers_total'), 0);
  }

  const alice = await env.connect(e1, { user: 'alice', extra: CLAIMS });
  const bob = await env.connect(e1, { user: 'bob', extra: CLAIMS });
  for (const c of [alice, bob]) {
    await c.ok({ op: 'sub', room: 'lobby', presence: true });
  }
  const histOk = await alice.ok({ op: 'sub', room: 'hist' });
  await bob.ok({ op: 'sub', room: 'hist' });
  await env.syncTopic(topics.room('lobby'), [alice, bob], { broker: brokerB });

  // before the fault: a history message (its position), a notification acknowledged and pushed
  const h1 = await alice.ok({ op: 'pub', room: 'hist', data: { n: 'h1' } });
  const h1msg = await bob.next((f) => f.op === 'msg' && f.id === h1.id, 5000, 'h1 at bob');
  assert.equal(h1msg.epoch, histOk.epoch);
  assert.equal(h1msg.offset, 1);
  const before = await api(env, e1, { ...mailbox({ title: 'acked before the kill' }), to: ['bob'] });
  assert.equal(before.status, 201, JSON.stringify(before.json));
  const [n1] = before.json.ids;
  await bob.next((f) => f.op === 'notify' && f.id === n1, 5000, 'the acknowledged notification, live');

  // the fault: B hangs, so what the edge sends now stays in flight; then it dies
  brokerB.proc.signal('SIGSTOP');
  const inflightRef = 'inflight-1';
  alice.send({ op: 'pub', room: 'lobby', data: { n: 'inflight' }, ref: inflightRef });
  const inflightReply = alice.next((f) => f.ref === inflightRef && (f.op === 'ok' || f.op === 'error'), 20000, 'the reply to the publish in flight');
  const inflightPost = api(env, e1, { ...mailbox({ title: 'in flight at the kill' }), to: ['bob'] });
  await waitFor(async () => (await metrics(e1)).get('mqedge_broker_pending') >= 1, { timeoutMs: 5000, what: 'the client publish in flight (mqedge_broker_pending)' });
  const n2push = await bob.next((f) => f.op === 'notify' && f.title === 'in flight at the kill', 5000, 'the in-flight notification pushed at its POST');
  const logFrom = e1.proc.lines.length;
  const tKill = Date.now();
  await brokerB.kill('SIGKILL');
  // a publish made while no broker is reachable waits in the offline queue, behind the one in flight
  await e1.waitNotReady();
  const queuedReply = alice.request({ op: 'pub', room: 'lobby', data: { n: 'queued' } }, { timeoutMs: 20000 });

  // the move: not before the failover time, within it plus a bound
  let tMoved = 0;
  await waitFor(
    async () => {
      const m = await metrics(e1);
      if (!tMoved && brokerInfo(m, brokerA, 1) === 1) tMoved = Date.now();
      return tMoved && (await e1.readyz()).status === 200;
    },
    { timeoutMs: FAILOVER_S * 1000 + MOVE_BOUND_MS + 2000, intervalMs: 25, what: 'e1 on broker A and ready' },
  );
  const tReady = Date.now();
  assert.ok(tMoved - tKill >= FAILOVER_S * 1000 - 50, `moved ${tMoved - tKill} ms after the kill: before the failover time`);
  assert.ok(tReady - tKill <= FAILOVER_S * 1000 + MOVE_BOUND_MS, `ready on A ${tReady - tKill} ms after the kill`);
  await waitInboxSubscribed(brokerA, e1);

  // nothing in flight was silent: both were published again on A
  const r1 = await inflightReply;
  assert.equal(r1.op, 'ok', `publish in flight: ${JSON.stringify(r1)}`);
  const rq = await queuedReply;
  assert.equal(rq.op, 'ok', `publish queued during the outage: ${JSON.stringify(rq)}`);
  const p2 = await inflightPost;
  assert.equal(p2.status, 201, `notification in flight: ${p2.status} ${JSON.stringify(p2.json)}`);
  assert.equal(p2.json.ids[0], n2push.id);

  // one resync per session, reason failover, the gap from the loss to the move
  for (const [c, unread] of [
    [alice, 0],
    [bob, 2],
  ]) {
    const r = await c.next((f) => f.op === 'resync', 5000, 'resync');
    assert.equal(r.reason, 'failover');
    assert.ok(r.since >= tKill - 5 && r.since <= tKill + 1000, `resync since ${r.since - tKill} ms after the kill`);
    assert.ok(r.ts - r.since >= FAILOVER_S * 1000 - 50 && r.ts <= tReady, `resync ts ${r.ts - tKill} ms after the kill`);
    assert.equal(r.unread, unread, `${c.name} unread`);
  }

  // on A: the status, the presence list, the revocations again
  const watcher = await env.mqtt(brokerA, { name: 'watch-A' });
  await watcher.sub(topics.status('e1'));
  await watcher.sub(`${PREFIX}/presence/lobby/e1`);
  const status = await watcher.next((m) => m.topic === topics.status('e1'), 5000, 'e1 status on A');
  assert.equal(status.retain, true);
  assert.equal(JSON.parse(status.payload.toString()).status, 'online');
  const plist = await watcher.next((m) => m.topic === `${PREFIX}/presence/lobby/e1`, 5000, 'e1 presence list on A');
  assert.deepEqual(JSON.parse(plist.payload.toString()).list.map((x) => x[0]).sort(), ['alice', 'bob']);
  assert.equal(logCount(e1, /revocations_loaded/), 2, 'revocations loaded at start and again on A');
  const moves = e1.proc.lines.slice(logFrom).filter((l) => /mqtt_failover/.test(l));
  assert.equal(moves.length, 2, moves.join('\n'));
  assert.ok(moves.some((l) => /session=mqedge-e1 .*reason=unreachable/.test(l)) && moves.some((l) => /session=mqedge-e1-inbox .*reason=moved/.test(l)), moves.join('\n'));

  // after the move: alice on the edge and a backend on A, alternating; each member gets each once, in order
  const backend = await env.mqtt(brokerA, { name: 'backend-A' });
  const expected = [r1.id, rq.id]; // alice's order across the fault: in flight, then queued
  for (let i = 1; i <= 3; i++) {
    const ok = await alice.ok({ op: 'pub', room: 'lobby', data: { n: `a${i}` } });
    expected.push(ok.id);
    await backend.pub(topics.room('lobby'), { v: 1, id: `backend-${i}`, data: { n: `b${i}` } });
    expected.push(`backend-${i}`);
  }
  for (const c of [alice, bob]) {
    await c.until((cl) => expected.every((id) => cl.roomMsgs('lobby').some((f) => f.id === id)), 10000, `every lobby message at ${c.name}`);
    const got = c.roomMsgs('lobby').map((f) => f.id);
    const from = got.indexOf(r1.id);
    assert.deepEqual(got.slice(from), expected, `${c.name}: lobby after the fault`);
    for (const [id, n] of counts(got)) assert.equal(n, 1, `${c.name} got ${id} ${n} times`);
  }

  // history: the window went with the session; a resume says so
  const bob2 = await env.connect(e1, { user: 'bob', extra: CLAIMS, name: 'bob2' });
  const resumed = await bob2.ok({ op: 'sub', room: 'hist', since: { epoch: histOk.epoch, offset: 1 } });
  assert.equal(resumed.recovered, false, JSON.stringify(resumed));
  assert.equal(resumed.reason, 'epoch');
  assert.notEqual(resumed.epoch, histOk.epoch);

  // the notifications: once each, live at bob, and in his inbox
  const { items, unread } = await inboxAll(bob2);
  assert.deepEqual(items.map((i) => i.id).sort(), [n1, n2push.id].sort(), 'bob\'s inbox: both notifications, once each');
  assert.equal(unread, 2);
  await bob.none((f) => f.op === 'resync' || f.op === 'notify', 500, 'a second resync or a notification again');
  for (const id of [n1, n2push.id]) assert.equal(bob.all.filter((f) => f.op === 'notify' && f.id === id).length, 1, `notify ${id} at bob`);
  await alice.none((f) => f.op === 'resync', 10, 'a second resync');

  const m = await metrics(e1);
  assert.equal(m.get('mqedge_broker_failovers_total'), 1);
  assert.equal(brokerInfo(m, brokerA, 1), 1);
  assert.equal(m.get('mqedge_resyncs_total'), 1);
  assert.equal(m.get('mqedge_inbox_broker_up'), 1);
  for (const c of [alice, bob]) assert.equal(c.closed, null, `${c.name} stays connected`);

  // the last will was registered on A too: the edge dying there leaves its status offline
  await e1.kill('SIGKILL');
  const will = await watcher.next((x) => x.topic === topics.status('e1') && JSON.parse(x.payload.toString()).status === 'offline', 5000, 'e1 last will on A');
  assert.equal(JSON.parse(will.payload.toString()).edge, 'e1');
});

scenario('failover: the first broker of the list is down at start; the edge starts on the second', { timeout: 60000 }, async (env) => {
  const brokerA = await env.startBroker('brokerA');
  const brokerB = await env.startBroker('brokerB');
  await brokerB.kill('SIGKILL');
  const t0 = Date.now();
  const e1 = await env.startEdge({ id: 'e1', brokers: [brokerB, brokerA], extra: ['--broker-failover-after', '1'] });
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 1000 - 50 && elapsed <= 1000 + MOVE_BOUND_MS + 1000, `ready ${elapsed} ms after the start`);
  await waitInboxSubscribed(brokerA, e1);
  const m = await metrics(e1);
  assert.equal(brokerInfo(m, brokerA, 1), 1);
  assert.equal(m.get('mqedge_broker_failovers_total'), 1);
  assert.equal(m.get('mqedge_resyncs_total'), 0, 'nothing to resync: the first session of the process');

  const carol = await env.connect(e1, { user: 'carol', extra: { rooms: ['r1'] } });
  await carol.ok({ op: 'sub', room: 'r1' });
  const backend = await env.mqtt(brokerA, { name: 'backend-A' });
  await backend.sub(topics.room('r1'));
  const ok = await carol.ok({ op: 'pub', room: 'r1', data: { n: 1 } });
  const seen = await backend.next((x) => x.topic === topics.room('r1'), 5000, 'carol message on A');
  assert.equal(JSON.parse(seen.payload.toString()).id, ok.id);
  await carol.next((f) => f.op === 'msg' && f.id === ok.id, 5000, 'carol gets her own message back through A');
  await carol.none((f) => f.op === 'resync', 300, 'resync');
});
