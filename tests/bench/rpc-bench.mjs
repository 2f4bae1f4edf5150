#!/usr/bin/env node
// rpc round trips through one edge (BENCHMARKS.md, scenario 11; PROTOCOL.md section 11).
//
//   node tests/bench/rpc-bench.mjs [--clients C] [--window W] [--duration S] [--runs R] [--workers 1,4]
//
// It starts its own mosquitto and one edge with the integration harness, on free loopback ports;
// broker and edge are pinned to core 0, this driver and the workers to core 1. The workers are
// tests/integration/lib/rpcworker.mjs (Node, npm mqtt, MQTT 5) in child processes, all in one
// shared-subscription group, answering "echo". For each worker count: C clients, each keeping W
// requests in flight (a closed loop: a new request as soon as one is answered) for S seconds.
// Measured: round trips per second, the round trip's p50/p99 (send to reply at the client), the
// edge's and the broker's CPU per round trip (/proc/PID/stat). Verified: every request answered ok
// exactly once with its own data; the edge's rpc counters agree. Prints one JSON line per run and a
// summary line on stderr ("rpc: ..."); exits non-zero when anything is wrong. With 2 cores the Node
// workers share a core with the driver, so the figures are a floor for the edge, not its ceiling.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Env, waitFor } from '../integration/lib/harness.mjs';
import { REPO_ROOT } from '../integration/lib/schemas.mjs';
import { options, median, round, quantile, cpuSeconds, pin, metric, connect } from './lib.mjs';

const o = options();
const CLIENTS = Number(o.clients ?? 50);
const WINDOW = Number(o.window ?? 4);
const DURATION = Number(o.duration ?? 5);
const RUNS = Number(o.runs ?? 3);
const WORKERS = String(o.workers ?? '1,4').split(',').map(Number);
const WORKER_JS = join(REPO_ROOT, 'tests', 'integration', 'lib', 'rpcworker.mjs');
const now = () => performance.now();

async function startWorkers(env, broker, n) {
  const kids = [];
  for (let i = 0; i < n; i++) {
    const k = spawn(process.execPath, [WORKER_JS, String(broker.port), `bw${i}`, 'bench'], { stdio: ['ignore', 'pipe', 'inherit'] });
    k.out = '';
    k.stdout.on('data', (d) => (k.out = (k.out + d).slice(-64)));
    env.onCleanup(() => k.kill('SIGKILL'));
    pin(k.pid, 1);
    kids.push(k);
  }
  await waitFor(() => kids.every((k) => k.out.includes('ready') || k.out.includes('request')), { timeoutMs: 15000, what: 'workers ready' });
  return kids;
}

async function run(env, edge, broker, nWorkers, problems) {
  const kids = await startWorkers(env, broker, nWorkers);
  const lat = [];
  let sent = 0;
  let done = 0;
  let stop = false;
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) {
    const c = { i, seq: 0, pending: new Map() };
    c.conn = await connect(edge.port, env.token(`rpcb${i}`, { rpc: ['echo'] }), (f) => {
      const p = c.pending.get(f.ref);
      if (!p) return problems.push(`client ${i}: unexpected frame ${JSON.stringify(f).slice(0, 200)}`);
      c.pending.delete(f.ref);
      if (f.op !== 'ok' || f.data?.echo?.n !== p.n || f.data?.echo?.c !== i) problems.push(`client ${i}: wrong reply ${JSON.stringify(f).slice(0, 200)}`);
      lat.push(now() - p.t);
      done++;
      if (!stop) send(c);
    });
    clients.push(c);
  }
  function send(c) {
    const n = ++c.seq;
    const ref = `${c.i}-${n}`;
    c.pending.set(ref, { t: now(), n });
    sent++;
    c.conn.ws.send(JSON.stringify({ op: 'rpc', method: 'echo', data: { c: c.i, n }, ref }));
  }
  const okBefore = await metric(edge.port, 'mqedge_rpc_results_total{result="ok"}');
  const cpu0 = { edge: cpuSeconds(edge.proc.child.pid), broker: cpuSeconds(broker.proc.child.pid) };
  const t0 = now();
  for (const c of clients) for (let k = 0; k < WINDOW; k++) send(c);
  await new Promise((r) => setTimeout(r, DURATION * 1000));
  stop = true;
  const secs = (now() - t0) / 1000;
  const doneAtStop = done;
  await waitFor(() => done === sent, { timeoutMs: 15000, what: `all ${sent} answered (${done} so far)` }).catch((e) => problems.push(e.message));
  const cpu = { edge: cpuSeconds(edge.proc.child.pid) - cpu0.edge, broker: cpuSeconds(broker.proc.child.pid) - cpu0.broker };
  const okAfter = await metric(edge.port, 'mqedge_rpc_results_total{result="ok"}');
  if (okAfter - okBefore !== sent) problems.push(`edge counted ${okAfter - okBefore} ok answers for ${sent} requests`);
  for (const c of clients) c.conn.ws.terminate();
  for (const k of kids) k.kill('SIGTERM');
  lat.sort((a, b) => a - b);
  return {
    scenario: 's11', workers: nWorkers, clients: CLIENTS, window: WINDOW, requests: sent,
    rps: round(doneAtStop / secs, 0), p50_ms: round(quantile(lat, 0.5), 2), p99_ms: round(quantile(lat, 0.99), 2),
    edge_us_per_rpc: round((cpu.edge / sent) * 1e6, 1), broker_us_per_rpc: round((cpu.broker / sent) * 1e6, 1),
  };
}

const problems = [];
const results = [];
await (async () => {
  const env = new Env(null, 'rpc-bench');
  try {
    // a broker saving its state every 30 s, as production configs do (not after every change)
    const broker = await env.startBroker('broker', { saveEveryChange: false });
    const edge = await env.startEdge({ broker, extra: ['--rpc-max-inflight', String(WINDOW * 2), '--rate', '100000', '--burst', '100000'] });
    pin(broker.proc.child.pid, 0);
    pin(edge.proc.child.pid, 0);
    pin(process.pid, 1);
    for (const n of WORKERS) {
      for (let r = 0; r < RUNS; r++) {
        const res = await run(env, edge, broker, n, problems);
        results.push(res);
        console.log(JSON.stringify(res));
      }
    }
  } finally {
    const p = await env.teardown();
    problems.push(...p);
  }
})().catch((e) => problems.push(String(e.stack ?? e)));

const summary = WORKERS.map((n) => {
  const rs = results.filter((x) => x.workers === n);
  return `${n} worker${n > 1 ? 's' : ''}: ${median(rs.map((x) => x.rps))} rpc/s, p50 ${median(rs.map((x) => x.p50_ms))} ms, p99 ${median(rs.map((x) => x.p99_ms))} ms, edge ${median(rs.map((x) => x.edge_us_per_rpc))} us/rpc`;
});
process.stderr.write(`rpc: ${summary.join('; ')} (${CLIENTS} clients x ${WINDOW} in flight, ${DURATION} s, median of ${RUNS})\n`);
if (problems.length) {
  process.stderr.write(`rpc-bench problems:\n  ${problems.slice(0, 20).join('\n  ')}\n`);
  process.exit(1);
}
process.exit(0);
