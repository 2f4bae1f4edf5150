#!/usr/bin/env node
// Presence churn (BENCHMARKS.md, scenario 10; PROTOCOL.md section 9): joins and leaves of a presence
// room at a steady total rate, spread over two edges, and what they cost each edge.
//
//   node tests/bench/presence-bench.mjs [--conns-per-edge P] [--rate OPS] [--duration S] [--runs R]
//
// It starts its own mosquitto and two edges (--presence-rooms 'pres-*') with the integration harness,
// on free loopback ports; broker and edges are pinned to core 0, this driver to core 1. Per run (a
// fresh room each): a watcher on each edge joins the room with presence:true and takes a snapshot
// ({"op":"presence"}); P clients per edge, each its own user, connect without joining. Then for S
// seconds the driver sends OPS sub/unsub frames per second in total (steady schedule, each frame to a
// random client with no request in flight: sub if it is not a member, unsub if it is), so every op is
// a join or a leave of one user. Measured: each edge's (and the broker's) CPU over the churn
// (/proc/PID/stat), per op and as a share of a core; the sub/unsub round trip; the time from a
// sub/unsub to the join/leave event at the watcher on the same edge and on the other edge; the time
// until both edges' presence answers show the real membership after the last op. Then the same
// churn in a room without presence (a control: what a sub/unsub costs anyway). Verified: every op answered
// ok; the final presence answer on both edges lists exactly the users really joined (watchers
// included), one connection each; each watcher's snapshot plus the join/leave events it received
// gives that same set, and no event contradicts the one before (a join of a member, a leave of a
// non-member). Prints one JSON line per run and a summary line on stderr ("presence: ..."); exits
// non-zero when anything is wrong.
import { Env, waitFor } from '../integration/lib/harness.mjs';
import { options, median, round, quantile, cpuSeconds, pin, metric, connect, pool } from './lib.mjs';

const o = options();
const PER_EDGE = Number(o['conns-per-edge'] ?? 250);
const RATE = Number(o.rate ?? 1000);
const DURATION = Number(o.duration ?? 10);
const RUNS = Number(o.runs ?? 3);
const TOTAL = Math.round(RATE * DURATION);
const MAX_MEMBERS = 1000; // the edges' presence-max-members (default): above it the answer has counts only
const claims = { rooms: ['pres-*', 'plain-*'] };
const now = () => performance.now();
const delay = (ms) => new Promise((r) => setTimeout(r, ms));

// A connection with request/reply by ref; join/leave events of `room` are kept in order.
async function open(env, edge, user) {
  const c = { user, edge, pending: new Map(), seq: 0, events: [], stray: [], in: {}, ops: {} };
  c.conn = await connect(edge.port, env.token(user, claims), (f) => {
    if ((f.op === 'ok' || f.op === 'error') && c.pending.has(f.ref)) {
      const done = c.pending.get(f.ref);
      c.pending.delete(f.ref);
      f.eventsAt = c.events.length; // events received before this reply
      done(f);
    } else if (f.op === 'join' || f.op === 'leave') {
      f.at = now(); // arrival, for the event latency
      c.events.push(f);
    }
    else c.stray.push(f);
  }, (code) => (c.closed = code));
  c.req = (frame) => new Promise((resolve) => {
    const ref = `r${++c.seq}`;
    c.pending.set(ref, resolve);
    c.conn.ws.send(JSON.stringify({ ...frame, ref }));
  });
  return c;
}

// TOTAL ops at RATE per second, each to a random client with no op in flight (sub when it is not in
// the room, unsub when it is); resolves when every op is answered, with the CPU each server used.
async function churn(room, churners, edges, pids) {
  const cpu0 = pids.map(cpuSeconds);
  const self0 = process.cpuUsage();
  const idle = [...churners];
  const rtt = [];
  const errors = [];
  const perEdge = edges.map(() => 0);
  let issued = 0;
  let answered = 0;
  let starved = 0;
  let maxMembers = 0;
  let members = 0;
  const t0 = now();
  await new Promise((resolve) => {
    const tick = () => {
      const target = Math.min(TOTAL, Math.floor(((now() - t0) / 1000) * RATE));
      while (issued < target) {
        if (!idle.length) {
          starved++;
          break;
        }
        const k = Math.floor(Math.random() * idle.length);
        const c = idle[k];
        idle[k] = idle[idle.length - 1];
        idle.pop();
        issued++;
        perEdge[c.e]++;
        const ts = now();
        (c.ops[room] ??= []).push({ op: c.in[room] ? 'leave' : 'join', at: ts });
        c.req({ op: c.in[room] ? 'unsub' : 'sub', room }).then((f) => {
          rtt.push(now() - ts);
          if (f.op === 'ok') {
            c.in[room] = !c.in[room];
            members += c.in[room] ? 1 : -1;
            if (members > maxMembers) maxMembers = members;
          } else errors.push(f);
          idle.push(c);
          if (++answered === TOTAL) resolve();
        });
      }
      if (issued < TOTAL) setTimeout(tick, 1);
    };
    tick();
  });
  const churnS = (now() - t0) / 1000;
  const cpu = pids.map((p, i) => cpuSeconds(p) - cpu0[i]);
  return { cpu, churnS, rtt, errors, perEdge, starved, maxMembers, self: process.cpuUsage(self0) };
}

// Event latency: the k-th join/leave a watcher got for a user against the k-th op sent for that user
// (send of the sub/unsub -> arrival of the event), split by whether the user is on the watcher's edge.
// Users whose event count differs from their op count are left out (and counted).
function eventLatency(watchers, churners, room) {
  const out = watchers.map(() => ({ local: [], remote: [], unmatched: 0 }));
  for (const [i, w] of watchers.entries()) {
    const byUser = new Map();
    for (const ev of w.events.slice(w.snapshot.eventsAt)) {
      if (!byUser.has(ev.user)) byUser.set(ev.user, []);
      byUser.get(ev.user).push(ev);
    }
    for (const c of churners) {
      const ops = c.ops[room] ?? [];
      const evs = byUser.get(c.user) ?? [];
      if (evs.length !== ops.length || evs.some((ev, k) => ev.op !== ops[k].op)) {
        out[i].unmatched++;
        continue;
      }
      for (const [k, ev] of evs.entries()) out[i][c.e === i ? 'local' : 'remote'].push(ev.at - ops[k].at);
    }
  }
  return out;
}

const sameSet = (a, b) => a.size === b.size && [...a].every((x) => b.has(x));
const diff = (a, b) => [...a].filter((x) => !b.has(x));

// A watcher's view: its snapshot, then every event after it. Counts events that contradict the view.
function derived(w) {
  const set = new Set(w.snapshot.members.map((m) => m.user));
  let contradictions = 0;
  for (const ev of w.events.slice(w.snapshot.eventsAt)) {
    if (ev.op === 'join') {
      if (set.has(ev.user)) contradictions++;
      set.add(ev.user);
    } else {
      if (!set.has(ev.user)) contradictions++;
      set.delete(ev.user);
    }
  }
  return { set, contradictions, events: w.events.length - w.snapshot.eventsAt };
}

async function run(env, broker, edges, r) {
  const room = `pres-${r}`;
  const plainRoom = `plain-${r}`;
  const problems = [];
  // watchers, one per edge, and their snapshot once each sees the other
  const watchers = [];
  for (const [i, e] of edges.entries()) watchers.push(await open(env, e, `pw${r}-${i}`));
  for (const w of watchers) {
    const ok = await w.req({ op: 'sub', room, presence: true });
    if (ok.op !== 'ok') throw new Error(`watcher sub: ${JSON.stringify(ok)}`);
    // the control room: the watchers keep it followed, as they keep the presence room
    const okPlain = await w.req({ op: 'sub', room: plainRoom });
    if (okPlain.op !== 'ok') throw new Error(`watcher sub: ${JSON.stringify(okPlain)}`);
  }
  await waitFor(() => watchers.every((w) => watchers.every((x) => w.events.some((ev) => ev.op === 'join' && ev.user === x.user))),
    { timeoutMs: 10000, what: 'each watcher sees both join' });
  for (const w of watchers) {
    w.snapshot = await w.req({ op: 'presence', room });
    if (w.snapshot.op !== 'ok' || w.snapshot.users !== 2) throw new Error(`snapshot: ${JSON.stringify(w.snapshot)}`);
  }

  // the churners: P per edge, connected, not joined
  const churners = [];
  for (const [i, e] of edges.entries()) for (let k = 0; k < PER_EDGE; k++) churners.push({ e: i, edge: e, user: `pc${r}-${i}-${k}` });
  await pool(churners, 100, async (c, idx) => {
    churners[idx] = Object.assign(await open(env, c.edge, c.user), { e: c.e });
  });

  // the churn
  const pids = [...edges.map((e) => e.proc.child.pid), broker.proc.child.pid];
  const ch = await churn(room, churners, edges, pids);
  if (ch.errors.length) problems.push(`${ch.errors.length} ops answered with an error, first ${JSON.stringify(ch.errors[0])}`);
  const { cpu, churnS, rtt, perEdge, starved, maxMembers, self } = ch;

  // what is really joined: the watchers and every churner whose last op was an acknowledged sub
  const truth = new Set([...watchers.map((w) => w.user), ...churners.filter((c) => c.in[room]).map((c) => c.user)]);
  const check = async () => {
    const out = [];
    for (const [i, w] of watchers.entries()) {
      const p = await w.req({ op: 'presence', room });
      const listed = new Set((p.members ?? []).map((m) => m.user));
      if (p.op !== 'ok') out.push(`edge ${i + 1}: presence answered ${JSON.stringify(p).slice(0, 200)}`);
      else if (truth.size > MAX_MEMBERS && !p.members) {
        // counts only (PROTOCOL.md section 9): one connection per user here, so users = conns = members
        if (p.users !== truth.size || p.conns !== truth.size) out.push(`edge ${i + 1}: counts ${p.users}/${p.conns}, ${truth.size} really joined`);
      } else if (!sameSet(listed, truth)) out.push(`edge ${i + 1}: presence lists ${listed.size} users, ${truth.size} really joined (missing ${diff(truth, listed).slice(0, 3)}, extra ${diff(listed, truth).slice(0, 3)})`);
      else if (p.users !== truth.size || p.conns !== truth.size || p.members.some((m) => m.conns !== 1)) out.push(`edge ${i + 1}: users ${p.users}, conns ${p.conns}, expected ${truth.size} each`);
      const d = derived(w);
      if (!sameSet(d.set, truth)) out.push(`watcher on edge ${i + 1}: snapshot + events give ${d.set.size} users, ${truth.size} really joined (missing ${diff(truth, d.set).slice(0, 3)}, extra ${diff(d.set, truth).slice(0, 3)})`);
    }
    return out;
  };
  let last = [];
  const converge0 = now();
  let converged = null;
  while (now() - converge0 < 15000) {
    last = await check();
    if (!last.length) {
      converged = now() - converge0;
      break;
    }
    await delay(20);
  }
  if (converged === null) problems.push(`no agreement 15 s after the last op: ${last.join('; ')}`);
  else {
    await delay(500); // and it stays so (nothing late contradicts it)
    problems.push(...(await check()).map((p) => `500 ms later: ${p}`));
  }
  // the same churn in a room without presence: what a sub/unsub costs anyway (presence stays as it is)
  const control = await churn(plainRoom, churners, edges, pids);
  if (control.errors.length) problems.push(`control: ${control.errors.length} ops answered with an error, first ${JSON.stringify(control.errors[0])}`);
  problems.push(...(await check()).map((p) => `after the control churn: ${p}`));
  const views = watchers.map(derived);
  const lat = eventLatency(watchers, churners, room);
  const local = lat.flatMap((x) => x.local);
  const remote = lat.flatMap((x) => x.remote);
  for (const [i, v] of views.entries()) if (v.contradictions) problems.push(`watcher on edge ${i + 1}: ${v.contradictions} events contradict the one before (a join of a member or a leave of a non-member)`);
  for (const c of [...watchers, ...churners]) {
    if (c.closed !== undefined) problems.push(`${c.user} was closed (${c.closed})`);
    if (c.stray.some((f) => f.op === 'error')) problems.push(`${c.user}: error frame ${JSON.stringify(c.stray.find((f) => f.op === 'error'))}`);
  }

  const result = {
    scenario: 's10', run: r, edges: edges.length, conns_per_edge: PER_EDGE, ops: TOTAL, ops_per_edge: perEdge,
    rate_target: RATE, churn_s: round(churnS, 2),
    control_edge_us_per_op: control.cpu.slice(0, edges.length).map((x) => round((x * 1e6) / TOTAL, 1)),
    control_broker_us_per_op: round((control.cpu.at(-1) * 1e6) / TOTAL, 1),
    control_rtt_p50_ms: round(quantile(control.rtt, 0.5), 2), control_rtt_p99_ms: round(quantile(control.rtt, 0.99), 2), rate_achieved: Math.round(TOTAL / churnS), starved_ticks: starved,
    members_end: truth.size, members_max: maxMembers + watchers.length,
    edge_cpu_s: cpu.slice(0, edges.length).map((x) => round(x, 2)), broker_cpu_s: round(cpu.at(-1), 2),
    edge_cpu_share: cpu.slice(0, edges.length).map((x) => round(x / churnS, 3)),
    edge_us_per_op: cpu.slice(0, edges.length).map((x) => round((x * 1e6) / TOTAL, 1)),
    broker_us_per_op: round((cpu.at(-1) * 1e6) / TOTAL, 1),
    rtt_p50_ms: round(quantile(rtt, 0.5), 2), rtt_p99_ms: round(quantile(rtt, 0.99), 2),
    converged_ms: round(converged), watcher_events: views.map((v) => v.events),
    event_ms_same_edge: { p50: round(quantile(local, 0.5), 2), p99: round(quantile(local, 0.99), 2), n: local.length },
    event_ms_other_edge: { p50: round(quantile(remote, 0.5), 2), p99: round(quantile(remote, 0.99), 2), n: remote.length },
    users_unmatched: lat.map((x) => x.unmatched),
    driver_cpu_s: round((self.user + self.system) / 1e6, 2), problems,
  };
  console.log(JSON.stringify(result));
  for (const c of [...watchers, ...churners]) c.conn.ws.terminate();
  for (const e of edges) {
    await waitFor(async () => (await metric(e.port, 'mqedge_connections{kind="user"}')) === 0,
      { timeoutMs: 30000, intervalMs: 20, what: `${e.name} to see every client gone` });
  }
  return result;
}

const env = new Env(null, 'presence-bench');
let failed = false;
try {
  const broker = await env.startBroker('broker', { saveEveryChange: false, extra: ['max_inflight_messages 0', 'max_queued_messages 1000000'] });
  const edges = [];
  for (let i = 0; i < 2; i++) edges.push(await env.startEdge({ broker, extra: ['--presence-rooms', 'pres-*', '--log-level', 'warn'] }));
  for (const p of [broker, ...edges]) pin(p.proc.child.pid, 0);
  pin(process.pid, 1);
  const results = [];
  for (let r = 0; r < RUNS; r++) results.push(await run(env, broker, edges, r));
  const m = (f) => median(results.map(f));
  const problems = results.flatMap((x) => x.problems.map((p) => `run ${x.run}: ${p}`));
  console.error(`presence: ${TOTAL} joins/leaves in ${m((x) => x.churn_s)} s (${m((x) => x.rate_achieved)}/s, median of ${RUNS}) over 2 edges ` +
    `x ${PER_EDGE} clients, ~${m((x) => x.members_end)} members; edge CPU ${m((x) => x.edge_cpu_share[0])} / ${m((x) => x.edge_cpu_share[1])} of a core ` +
    `= ${m((x) => x.edge_us_per_op[0])} / ${m((x) => x.edge_us_per_op[1])} us per join/leave, broker ${m((x) => x.broker_us_per_op)} us; ` +
    `the same churn in a room without presence: ${m((x) => x.control_edge_us_per_op[0])} / ${m((x) => x.control_edge_us_per_op[1])} us per sub/unsub, ` +
    `broker ${m((x) => x.control_broker_us_per_op)} us; sub/unsub round trip p50 ${m((x) => x.rtt_p50_ms)} ms, p99 ${m((x) => x.rtt_p99_ms)} ms; both edges agree ${m((x) => x.converged_ms)} ms after the last op; ` +
    `watchers saw ${m((x) => x.watcher_events[0])} / ${m((x) => x.watcher_events[1])} events, ` +
    `sub/unsub -> join/leave event p50 ${m((x) => x.event_ms_same_edge.p50)} ms on the same edge (p99 ${m((x) => x.event_ms_same_edge.p99)}), ` +
    `${m((x) => x.event_ms_other_edge.p50)} ms on the other (p99 ${m((x) => x.event_ms_other_edge.p99)}); ` +
    `${problems.length ? `PROBLEMS: ${problems.join('; ')}` : 'presence on both edges and both watchers\' views match the real membership'}`);
  if (problems.length) failed = true;
} catch (e) {
  failed = true;
  console.error(`presence-bench failed: ${e.stack ?? e}`);
} finally {
  const problems = await env.teardown();
  if (problems.length) {
    failed = true;
    console.error(problems.join('\n'));
  }
}
process.exit(failed ? 1 : 0);
