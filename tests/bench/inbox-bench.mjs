#!/usr/bin/env node
// Inbox benchmark (docs/BENCHMARKS.md, scenario 7): how fast one edge stores notifications arriving
// over MQTT, and how long a 1,000-item unread backlog takes to reach a connecting client.
//
//   node tests/bench/inbox-bench.mjs [--notifications N] [--users U] [--backlog B] [--runs R] [--workers W]
//
// --workers W: the edge runs W worker processes sharing one inbox file (each inserts every
// notification, one row results); CPU is the supervisor's and the workers' together.
// It starts its own mosquitto and edge (loopback, free ports, temp dir) with the integration harness,
// publishes N notifications at QoS 1 to U users as fast as the broker takes them (a window of
// in-flight publishes), and times from the first publish until /metrics says all N are stored. Then
// it publishes B notifications to one offline user, waits until they are stored, connects that user
// and times connect -> welcome -> the {"op":"backlog"} marker. Each figure is the median of R runs.
// Prints one JSON line per run and a summary; exits non-zero if anything was lost.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { Env, httpGet, waitFor } from '../integration/lib/harness.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
  if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
  return acc;
}, []));
const N = Number(args.notifications ?? 50000);
const USERS = Number(args.users ?? 100);
const BACKLOG = Number(args.backlog ?? 1000);
const RUNS = Number(args.runs ?? 3);
const WORKERS = Number(args.workers ?? 0);
const WINDOW = 2000;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
const cpuOf = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / clkTck; // utime + stime
};
// the edge's CPU: with --workers, the supervisor's and every worker's
const cpuSeconds = (pid) => {
  let kids = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    /* no children file: no workers */
  }
  return [pid, ...kids].reduce((a, p) => a + cpuOf(p), 0);
};
// a counter summed over workers (samples with or without labels); a _max gauge: the largest
const metric = async (edge, name) => {
  const body = (await httpGet(edge.port, '/metrics')).body;
  const vals = [...body.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) => Number(m[1]));
  if (!vals.length) return NaN;
  return name.endsWith('_max') ? Math.max(...vals) : vals.reduce((a, x) => a + x, 0);
};

async function publishAll(port, items) {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clean: true, reconnectPeriod: 0 });
  let next = 0;
  let done = 0;
  await new Promise((resolve, reject) => {
    const pump = () => {
      while (next < items.length && next - done < WINDOW) {
        const [topic, payload] = items[next++];
        c.publish(topic, payload, { qos: 1 }, (err) => {
          if (err) return reject(err);
          if (++done === items.length) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  await c.endAsync();
}

const notification = (i) => JSON.stringify({
  id: `bench-${process.pid}-${i}`, kind: 'remind', action: 'commented', object_type: 'post',
  object_id: `p${i % 97}`, actor: 'bencher', title: `comment ${i}`, data: { n: i, text: 'x'.repeat(40) },
});

async function run(env, broker, edge, r) {
  // 1. store rate
  const stored0 = await metric(edge, 'mqedge_inbox_stored_total');
  const items = [];
  for (let i = 0; i < N; i++) items.push([`mqedge/v1/user/u${i % USERS}/notify`, notification(r * N + i)]);
  const cpu0 = cpuSeconds(edge.proc.child.pid);
  const t0 = performance.now();
  await publishAll(broker.port, items);
  const tPublished = performance.now();
  await waitFor(async () => (await metric(edge, 'mqedge_inbox_stored_total')) - stored0 >= N,
    { timeoutMs: 120000, intervalMs: 20, what: `${N} notifications stored` });
  const tStored = performance.now();
  const storeCpu = cpuSeconds(edge.proc.child.pid) - cpu0;

  // 2. backlog replay to a connecting client
  const reader = `reader${r}`;
  const before = await metric(edge, 'mqedge_inbox_stored_total');
  const backlogItems = [];
  for (let i = 0; i < BACKLOG; i++) backlogItems.push([`mqedge/v1/user/${reader}/notify`, notification(10_000_000 + r * BACKLOG + i)]);
  await publishAll(broker.port, backlogItems);
  await waitFor(async () => (await metric(edge, 'mqedge_inbox_stored_total')) - before >= BACKLOG,
    { timeoutMs: 60000, intervalMs: 20, what: 'backlog stored' });
  const token = env.token(reader);
  const t1 = performance.now();
  const timing = await new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${edge.port}/ws?token=${token}`, { perMessageDeflate: false });
    let welcome = 0;
    let count = 0;
    ws.on('message', (m) => {
      const f = JSON.parse(m);
      if (f.op === 'welcome') welcome = performance.now();
      else if (f.op === 'notify') count++;
      else if (f.op === 'backlog') {
        resolve({ welcome: welcome - t1, done: performance.now() - t1, count, marker: f.count });
        ws.close();
      }
    });
    ws.on('error', reject);
  });
  const result = {
    run: r, notifications: N, users: USERS,
    publish_ms: +(tPublished - t0).toFixed(1), store_ms: +(tStored - t0).toFixed(1),
    stored_per_s: Math.round(N / ((tStored - t0) / 1000)), edge_cpu_s: +storeCpu.toFixed(3),
    edge_cpu_us_per_notification: +((storeCpu * 1e6) / N).toFixed(2),
    commit_max_ms: +((await metric(edge, 'mqedge_inbox_commit_seconds_max')) * 1000).toFixed(2),
    backlog: BACKLOG, backlog_received: timing.count, backlog_welcome_ms: +timing.welcome.toFixed(1),
    backlog_total_ms: +timing.done.toFixed(1),
  };
  console.log(JSON.stringify(result));
  if (timing.count !== BACKLOG || timing.marker !== BACKLOG) throw new Error(`backlog: got ${timing.count} of ${BACKLOG}`);
  return result;
}

const env = new Env(null, 'inbox-bench');
let failed = false;
try {
  // a production-like broker: periodic saves, QoS 1 in flight without a small cap
  const broker = await env.startBroker('broker', { saveEveryChange: false, extra: ['max_inflight_messages 0', 'max_queued_messages 1000000'] });
  const edge = await env.startEdge({ broker, extra: ['--inbox-max-per-user', String(N * RUNS + BACKLOG), '--log-level', 'warn',
    ...(WORKERS ? ['--workers', String(WORKERS)] : [])] });
  const results = [];
  for (let r = 0; r < RUNS; r++) results.push(await run(env, broker, edge, r));
  const m = (k) => median(results.map((x) => x[k]));
  console.error(`inbox${WORKERS ? ` (${WORKERS} workers)` : ''}: stored ${m('stored_per_s')} notifications/s (median of ${RUNS}, ${N} each, ` +
    `${m('edge_cpu_us_per_notification')} us edge CPU each, slowest commit ${m('commit_max_ms')} ms); ` +
    `${BACKLOG}-item backlog delivered ${m('backlog_total_ms')} ms after connect (welcome at ${m('backlog_welcome_ms')} ms)`);
} catch (e) {
  failed = true;
  console.error(`inbox-bench failed: ${e.stack ?? e}`);
} finally {
  const problems = await env.teardown();
  if (problems.length) {
    failed = true;
    console.error(problems.join('\n'));
  }
}
process.exit(failed ? 1 : 0);
