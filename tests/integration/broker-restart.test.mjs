// The broker dies, or hangs, under the edges. Two edges, two members of room "ops" on each. Phase 1:
// messages flow normally. Then the fault: the broker is killed with SIGKILL, or stopped with SIGSTOP (a
// hung broker: its kernel still accepts TCP connections and buffers what the edges write, but nothing
// answers) for longer than the edges' MQTT keepalive. Both edges notice (/readyz stops answering 200)
// and stay up. Phase 2: while the broker is away, members on both edges publish; every request gets a
// reply -- ok (held in the edge's queue and acknowledged after the broker is back) or unavailable
// (queue full, nothing published) -- never silence. The broker restarts on the same port with the same
// persistence directory (or gets SIGCONT); the edges reconnect by themselves (/readyz 200 again).
// Phase 3: messages flow again on both edges. In the end every message that got ok was delivered to
// every member exactly once (a hung broker reads what the edges wrote before they gave up on it, and
// the edges resend the same messages on the new session: the receivers' dedup must drop the second
// copy), and none that got unavailable was delivered at all.
import assert from 'node:assert/strict';
import { scenario, topics, counts, httpGet } from './lib/harness.mjs';

const ROOM = 'ops';

// fault: { inject(broker), heal(broker), extra: edge flags, notReadyMs, stream: publish across the fault }
async function throughFault(env, fault) {
  // the broker as examples/mosquitto.conf sets it up for edges (queues deep enough for an edge that
  // was away; the default 1000 drops the rest, acknowledged or not); no rate limit on the edges: the
  // stream below publishes far faster than a client may by default
  const broker = await env.startBroker('broker', { extra: ['max_queued_messages 100000', 'max_inflight_messages 0'] });
  const extra = ['--rate', '1000000', '--burst', '1000000', ...(fault.extra ?? [])];
  const edges = [await env.startEdge({ id: 'e1', broker, extra }), await env.startEdge({ id: 'e2', broker, extra })];
  const [e1, e2] = edges;
  const claims = { rooms: [ROOM] };
  const members = [
    await env.connect(e1, { user: 'm1', extra: claims }),
    await env.connect(e1, { user: 'm2', extra: claims }),
    await env.connect(e2, { user: 'm3', extra: claims }),
    await env.connect(e2, { user: 'm4', extra: claims }),
  ];
  for (const m of members) await m.ok({ op: 'sub', room: ROOM });
  await env.syncTopic(topics.room(ROOM), members);

  const replies = []; // { phase, from, n, reply }
  const publishRound = (phase, perMember) =>
    members.flatMap((m) =>
      Array.from({ length: perMember }, (_, n) => {
        const entry = { phase, from: m.user, n, reply: null };
        replies.push(entry);
        return m.request({ op: 'pub', room: ROOM, data: { phase, from: m.user, n } }, { timeoutMs: 60000 }).then((r) => (entry.reply = r));
      }),
    );

  // Phase 1: normal operation.
  await Promise.all(publishRound(1, 3));
  for (const e of replies) assert.equal(e.reply.op, 'ok', `phase 1: ${JSON.stringify(e.reply)}`);
  const phase1Ids = replies.map((e) => e.reply.id);
  for (const m of members) await m.until((c) => phase1Ids.every((id) => c.roomMsgs(ROOM).some((f) => f.id === id)), 10000, `phase 1 at ${m.name}`);

  // The fault; both edges must notice and stay alive.
  const logFrom = edges.map((e) => e.proc.lines.length);
  // a stream of publishes from every member across the fault, so that some meet the broker's
  // socket while it goes away (a write that fails half way). Not for SIGKILL: a broker killed
  // outright loses what it acknowledged since its last save (PROTOCOL.md section 5).
  let streaming = !!fault.stream;
  const stream = [];
  const pumps = members.map(async (m) => {
    let pending = 0; // at most 200 unanswered: a hung broker must not bury the test client in waiters
    for (let n = 0; streaming; ) {
      if (pending < 200) {
        const entry = { phase: '2s', from: m.user, n: n++, reply: null };
        replies.push(entry);
        pending++;
        stream.push(m.request({ op: 'pub', room: ROOM, data: { phase: '2s', from: m.user, n: entry.n } }, { timeoutMs: 60000 }).then(
          (r) => {
            pending--;
            entry.reply = r;
          },
          (e) => {
            pending--;
            entry.reply = { op: 'error', code: 'no_reply', message: e.message }; // fails the reply check below, with the logs
          },
        ));
      }
      await new Promise((r) => (pending < 200 ? setImmediate(r) : setTimeout(r, 2)));
    }
  });
  await new Promise((r) => setTimeout(r, 100));
  await fault.inject(broker);
  // Phase 2a, under load: 100 messages at the moment of the fault, before the edges can know (a hung
  // broker's kernel takes them into its socket buffer).
  const phase2a = publishRound('2a', 25);
  for (const e of edges) await e.waitNotReady(fault.notReadyMs ?? 15000);
  streaming = false;
  await Promise.all(pumps);
  edges.forEach((e, i) => assert.ok(e.proc.lines.slice(logFrom[i]).some((l) => /mqtt_disconnected/.test(l)), `${e.name} logs the lost broker`));
  for (const e of edges) assert.equal((await e.healthz()).status, 200, `${e.name} alive without a broker`);

  // Phase 2b: publish while the edges know the broker is away. A ping behind the pubs proves the edge has read them
  // (pong does not need the broker) before the broker comes back.
  const phase2b = publishRound('2b', 5);
  for (const m of members) {
    const p = await m.request({ op: 'ping' }, { timeoutMs: 10000 });
    assert.equal(p.op, 'pong', `${m.name} answers ping while the broker is down`);
  }
  await fault.heal(broker);
  for (const e of edges) await e.waitReady(30000);
  // Every phase 2 request gets exactly one reply: ok or unavailable.
  await Promise.all([...phase2a, ...phase2b, ...stream]);
  for (const e of replies.filter((x) => String(x.phase).startsWith('2'))) {
    assert.ok(e.reply.op === 'ok' || (e.reply.op === 'error' && e.reply.code === 'unavailable'), `phase 2 reply: ${JSON.stringify(e.reply)}`);
  }

  // Phase 3: after the restart, messages flow again on both edges.
  await Promise.all(publishRound(3, 3));
  for (const e of replies.filter((x) => x.phase === 3)) assert.equal(e.reply.op, 'ok', `phase 3: ${JSON.stringify(e.reply)}`);

  const okIds = replies.filter((e) => e.reply.op === 'ok').map((e) => e.reply.id);
  const refused = replies.filter((e) => e.reply.op === 'error').map((e) => `${e.phase}:${e.from}#${e.n}`);
  for (const m of members)
    await m.until((c) => okIds.every((id) => c.roomMsgs(ROOM).some((f) => f.id === id)), 30000, `every ok'd message at ${m.name}`).catch((err) => {
      const have = new Set(m.roomMsgs(ROOM).map((f) => f.id));
      const missing = replies.filter((e) => e.reply.op === 'ok' && !have.has(e.reply.id)).map((e) => `phase${e.phase}:${e.from}#${e.n}`);
      throw new Error(`${err.message}; missing: ${missing.join(', ')}`);
    });
  await members[0].none(() => false, 500); // room for late duplicates to show up

  for (const m of members) {
    const got = m.roomMsgs(ROOM);
    const dup = [...counts(got.map((f) => f.id))].filter(([, n]) => n > 1);
    assert.deepEqual(dup, [], `${m.name}: duplicates`);
    const stray = got.filter((f) => refused.includes(`${f.data?.phase}:${f.data?.from}#${f.data?.n}`));
    assert.deepEqual(stray, [], `${m.name}: a message answered unavailable was published anyway`);
    assert.equal(got.length, okIds.length, `${m.name}: exactly the ok'd messages`);
  }
  for (const m of members) assert.equal(m.closed, null, `${m.name} stayed connected through the broker restart`);
  for (const e of edges) {
    const dups = /mqedge_drops_total\{reason="duplicate"\} (\d+)/.exec((await httpGet(e.port, '/metrics')).body)?.[1];
    env.t.diagnostic(`${e.name}: ${dups} duplicate deliveries dropped`);
  }
}

scenario('broker SIGKILL + restart: every ok\'d message delivered once everywhere', { timeout: 150000 }, (env) =>
  throughFault(env, { inject: (b) => b.kill('SIGKILL'), heal: (b) => b.restart() }),
);

// SIGTERM: the broker closes every connection while the edges are writing to it (EPIPE on the next
// write). libmosquitto keeps a QoS 1 message it could not write and resends it after the reconnect;
// the edges crashed here once (the soak), answering for a message libmosquitto still held.
scenario('broker SIGTERM (clean stop) + restart under load: every ok\'d message delivered once everywhere', { timeout: 150000 }, (env) =>
  throughFault(env, { stream: true, inject: (b) => b.kill('SIGTERM'), heal: (b) => b.restart() }),
);

// broker-keepalive 5: libmosquitto sends PINGREQ after 5 s of silence and gives up 5 s later
scenario('broker SIGSTOPped past the keepalive, then SIGCONT: every ok\'d message delivered once everywhere', { timeout: 150000 }, (env) =>
  throughFault(env, {
    extra: ['--broker-keepalive', '5'],
    stream: true,
    notReadyMs: 20000,
    inject: (b) => {
      b.proc.signal('SIGSTOP');
      // a failing test must not leave a stopped broker behind (teardown's SIGTERM would wait on it)
      env.onCleanup(() => b.proc.signal('SIGCONT'));
    },
    heal: (b) => b.proc.signal('SIGCONT'),
  }),
);
