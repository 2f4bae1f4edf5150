#!/usr/bin/env node
// Resume storm (BENCHMARKS.md, scenario 9; PROTOCOL.md section 10): C clients in one history room on
// one edge all lose their connection at once, M messages are published meanwhile, then all C
// reconnect at once and resume with {"op":"sub","room":R,"since":{"epoch":E,"offset":N}}.
//
//   node tests/bench/history-bench.mjs [--clients C] [--missed M] [--runs R]
//
// It starts its own mosquitto and one edge (--history-rooms 'storm-*=1000') with the integration
// harness, on free loopback ports; broker and edge are pinned to core 0, this driver to core 1. Per
// run (a fresh room each): C clients join the room (each with its own user), 10 messages are
// published over MQTT at QoS 1 (as a backend would) and every client records the position of the
// last one; a watcher that stays connected keeps the reference stream. Then every client is
// terminated (TCP closed, no close frame), the edge is seen to drop them, M more messages are
// published, and all C reconnect at once (every WebSocket opened in the same tick) and resume from
// their position. Measured: the time from the first reconnect until every client has its M missed
// messages and its ok with recovered:true, and the edge's CPU seconds over that span (/proc/PID/stat;
// 10 ms ticks). Verified for every client: exactly the M missed messages (the watcher's, by offset
// and content), in order, no duplicate, before the ok; ok recovered:true at the newest position;
// nothing after it. Prints one JSON line per run and a summary line on stderr ("history: ...");
// exits non-zero when anything was lost, duplicated, out of order or not recovered.
import mqtt from 'mqtt';
import { Env, waitFor } from '../integration/lib/harness.mjs';
import { options, median, round, quantile, cpuSeconds, pin, metric, connect, pool } from './lib.mjs';

const o = options();
const CLIENTS = Number(o.clients ?? 1000);
const MISSED = Number(o.missed ?? 100);
const RUNS = Number(o.runs ?? 3);
const BEFORE = 10; // messages every client has before the drop (it resumes from the last one's position)
const ROOM_PATTERN = 'storm-*=1000';
const claims = { rooms: ['storm-*'] };
const now = () => performance.now();

async function publish(broker, room, from, count) {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clean: true, reconnectPeriod: 0 });
  try {
    // QoS 1 (PROTOCOL.md section 10: positions follow the broker's order of QoS 1 publishes), one at a time
    for (let i = from; i < from + count; i++) {
      await c.publishAsync(`mqedge/v1/room/${room}`, JSON.stringify({ i, text: `storm message ${i}` }), { qos: 1 });
    }
  } finally {
    await c.endAsync();
  }
}

async function run(env, broker, edge, r) {
  const room = `storm-${r}`;
  const problems = [];
  // the watcher: never drops, records the room's stream
  const watcher = { msgs: [] };
  watcher.conn = await connect(edge.port, env.token(`watch-${r}`, claims), (f) => {
    if (f.op === 'msg' && f.room === room) watcher.msgs.push(f);
    else if (f.op === 'ok' && f.ref === 'w') watcher.ok = f;
  });
  watcher.conn.ws.send(JSON.stringify({ op: 'sub', room, ref: 'w' }));
  await waitFor(() => watcher.ok, { timeoutMs: 10000, what: 'the watcher\'s ok' });
  if (typeof watcher.ok.epoch !== 'string') throw new Error(`not a history room: ${JSON.stringify(watcher.ok)}`);

  // C clients join (not measured)
  const clients = Array.from({ length: CLIENTS }, (_, i) => ({ i, token: env.token(`s${r}-${i}`, claims), msgs: [] }));
  await pool(clients, 100, async (c) => {
    let okResolve;
    const ok = new Promise((res) => (okResolve = res));
    c.conn = await connect(edge.port, c.token, (f) => {
      if (f.op === 'msg' && f.room === room) c.msgs.push(f);
      else if (f.op === 'ok' && f.ref === 'j') okResolve(f);
    });
    c.conn.ws.send(JSON.stringify({ op: 'sub', room, ref: 'j' }));
    c.joinOk = await ok;
  });
  await publish(broker, room, 1, BEFORE);
  await waitFor(() => clients.every((c) => c.msgs.length >= BEFORE) && watcher.msgs.length >= BEFORE,
    { timeoutMs: 30000, what: `every client has the first ${BEFORE} messages` });
  for (const c of clients) c.last = { epoch: c.msgs.at(-1).epoch, offset: c.msgs.at(-1).offset };

  // everyone drops at once; the edge notices (only the watcher left), then M messages are published
  for (const c of clients) c.conn.ws.terminate();
  await waitFor(async () => (await metric(edge.port, 'mqedge_connections{kind="user"}')) === 1,
    { timeoutMs: 30000, intervalMs: 20, what: 'the edge to see every client gone' });
  await publish(broker, room, BEFORE + 1, MISSED);
  await waitFor(() => watcher.msgs.length >= BEFORE + MISSED, { timeoutMs: 30000, what: `the watcher has all ${BEFORE + MISSED}` });
  const missed = watcher.msgs.slice(BEFORE);
  const top = watcher.msgs.at(-1);

  // the storm: every client reconnects in the same tick and resumes from its last position
  const replayed0 = await metric(edge.port, 'mqedge_history_replayed_total');
  const edgePid = edge.proc.child.pid;
  const brokerPid = broker.proc.child.pid;
  const cpuEdge0 = cpuSeconds(edgePid);
  const cpuBroker0 = cpuSeconds(brokerPid);
  const cpuSelf0 = process.cpuUsage();
  const t0 = now();
  const resume = (c, since = true) => new Promise((resolve) => {
    c.replay = [];
    c.after = [];
    c.errors = [];
    c.ok = null;
    connect(edge.port, c.token, (f) => {
      if (f.op === 'msg') (c.ok ? c.after : c.replay).push(f);
      else if (f.op === 'ok' && f.ref === 'again') {
        c.ok = f;
        c.tOk = now();
        resolve();
      } else if (f.op === 'error') {
        c.errors.push(f);
        resolve();
      }
    }, (code) => {
      c.closed = code;
      resolve();
    }).then(({ ws }) => {
      c.tWelcome = now();
      c.ws = ws;
      ws.send(JSON.stringify({ op: 'sub', room, ...(since ? { since: c.last } : {}), ref: 'again' }));
    }, (e) => {
      c.failed = e.message;
      resolve();
    });
  });
  const all = Promise.all(clients.map((c) => resume(c)));
  const timeout = new Promise((res) => setTimeout(() => res('timeout'), 120000));
  const outcome = await Promise.race([all, timeout]);
  const t1 = now();
  const cpuEdge = cpuSeconds(edgePid) - cpuEdge0;
  const cpuBroker = cpuSeconds(brokerPid) - cpuBroker0;
  const self = process.cpuUsage(cpuSelf0);
  if (outcome === 'timeout') problems.push(`not every client resumed within 120 s (${clients.filter((c) => c.ok).length} did)`);
  // anything late (a duplicate, a stray message) would arrive now
  await new Promise((res) => setTimeout(res, 300));
  const replayed = (await metric(edge.port, 'mqedge_history_replayed_total')) - replayed0;

  // every client: exactly the missed messages, in order, once, then ok recovered:true at the top
  const bad = [];
  const key = (f) => `${f.epoch}:${f.offset}:${JSON.stringify(f.data)}`;
  const want = missed.map(key).join('|');
  for (const c of clients) {
    const why = c.failed ? `connect failed: ${c.failed}` : c.errors.length ? `error ${JSON.stringify(c.errors[0])}`
      : c.closed !== undefined ? `closed ${c.closed}` : !c.ok ? 'no ok'
        : c.ok.recovered !== true ? `recovered ${c.ok.recovered} (${c.ok.reason})`
          : c.ok.epoch !== top.epoch || c.ok.offset !== top.offset ? `ok at ${c.ok.epoch}:${c.ok.offset}, not ${top.epoch}:${top.offset}`
            : c.replay.length !== MISSED ? `${c.replay.length} messages replayed, not ${MISSED}`
              : c.replay.map(key).join('|') !== want ? 'replayed messages differ from the missed ones (order, content or position)'
                : c.after.length ? `${c.after.length} messages after the ok` : null;
    if (why) bad.push(`client ${c.i}: ${why}`);
  }
  if (bad.length) problems.push(`${bad.length} of ${CLIENTS} clients wrong; first: ${bad.slice(0, 5).join('; ')}`);
  if (replayed !== CLIENTS * MISSED) problems.push(`edge replayed ${replayed} messages, expected ${CLIENTS * MISSED}`);

  // the control: the same storm once more, a plain sub with nothing missed (what reconnecting costs
  // without any replay), so the replay's own cost is the difference
  for (const c of clients) c.ws?.terminate();
  await waitFor(async () => (await metric(edge.port, 'mqedge_connections{kind="user"}')) === 1,
    { timeoutMs: 30000, intervalMs: 20, what: 'the edge to see every client gone' });
  const stormOks = clients.map((c) => c.tOk);
  const stormWelcomes = clients.map((c) => c.tWelcome);
  const cpuEdgeC0 = cpuSeconds(edgePid);
  const tc0 = now();
  await Promise.race([Promise.all(clients.map((c) => resume(c, false))), new Promise((res) => setTimeout(res, 120000))]);
  const tc1 = now();
  const cpuEdgeControl = cpuSeconds(edgePid) - cpuEdgeC0;
  const badControl = clients.filter((c) => !c.ok || c.ok.offset !== top.offset || c.replay.length || c.after.length || c.errors.length).length;
  if (badControl) problems.push(`control (plain sub): ${badControl} clients without their ok at the top or with messages`);
  for (const [i, c] of clients.entries()) {
    c.tOk = stormOks[i];
    c.tWelcome = stormWelcomes[i];
  }

  const oks = clients.filter((c) => c.tOk).map((c) => c.tOk - t0);
  const welcomes = clients.filter((c) => c.tWelcome).map((c) => c.tWelcome - t0);
  const result = {
    scenario: 's9', run: r, clients: CLIENTS, missed: MISSED, edges: 1,
    storm_ms: round(t1 - t0), all_welcomed_ms: round(Math.max(...welcomes)), first_ok_ms: round(Math.min(...oks)),
    ok_p50_ms: round(quantile(oks, 0.5)), ok_p99_ms: round(quantile(oks, 0.99)),
    edge_cpu_s: round(cpuEdge, 2), broker_cpu_s: round(cpuBroker, 2),
    edge_ms_per_resume: round((cpuEdge * 1000) / CLIENTS, 3),
    control_ms: round(tc1 - tc0), control_edge_cpu_s: round(cpuEdgeControl, 2),
    edge_us_per_replayed_msg_net: round(((cpuEdge - cpuEdgeControl) * 1e6) / (CLIENTS * MISSED), 2),
    driver_cpu_s: round((self.user + self.system) / 1e6, 2), replayed, clients_ok: CLIENTS - bad.length, problems,
  };
  console.log(JSON.stringify(result));
  for (const c of clients) c.ws?.terminate();
  watcher.conn.ws.terminate();
  await waitFor(async () => (await metric(edge.port, 'mqedge_connections{kind="user"}')) === 0,
    { timeoutMs: 30000, intervalMs: 20, what: 'the edge to see every client gone' });
  return result;
}

const env = new Env(null, 'history-bench');
let failed = false;
try {
  const broker = await env.startBroker('broker', { saveEveryChange: false, extra: ['max_inflight_messages 0', 'max_queued_messages 1000000'] });
  const edge = await env.startEdge({ broker, extra: ['--history-rooms', ROOM_PATTERN, '--log-level', 'warn'] });
  pin(broker.proc.child.pid, 0);
  pin(edge.proc.child.pid, 0);
  pin(process.pid, 1);
  const results = [];
  for (let r = 0; r < RUNS; r++) results.push(await run(env, broker, edge, r));
  const m = (k) => median(results.map((x) => x[k]));
  const problems = results.flatMap((x) => x.problems.map((p) => `run ${x.run}: ${p}`));
  console.error(`history: ${CLIENTS} clients resumed ${MISSED} missed messages each on one edge in ${m('storm_ms')} ms ` +
    `(median of ${RUNS}; all welcomed at ${m('all_welcomed_ms')} ms, ok p50 ${m('ok_p50_ms')} ms), edge CPU ${m('edge_cpu_s')} s ` +
    `= ${m('edge_ms_per_resume')} ms per resume (upgrade, token, sub, replay); broker ${m('broker_cpu_s')} s; ` +
    `the same reconnect with a plain sub (nothing to replay): ${m('control_ms')} ms, edge CPU ${m('control_edge_cpu_s')} s, ` +
    `so the replay itself ${m('edge_us_per_replayed_msg_net')} us per message; this driver used ${m('driver_cpu_s')} s of CPU during the storm; ${problems.length ? `PROBLEMS: ${problems.join('; ')}` : 'every client got exactly its missed messages, in order, recovered:true'}`);
  if (problems.length) failed = true;
} catch (e) {
  failed = true;
  console.error(`history-bench failed: ${e.stack ?? e}`);
} finally {
  const problems = await env.teardown();
  if (problems.length) {
    failed = true;
    console.error(problems.join('\n'));
  }
}
process.exit(failed ? 1 : 0);
