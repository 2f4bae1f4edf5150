#!/usr/bin/env node
// The benchmark driver (docs/BENCHMARKS.md). Runs every scenario against mqedge (edge + the
// Mosquitto behind it), against Mosquitto's own WebSocket listener, and, where it applies, against
// the floor (one send() per delivery, nothing else), in this one invocation, R times each (runs
// interleaved: run 1 of every system, then run 2, ...); prints medians and the ratios mqedge /
// Mosquitto and mqedge / floor. s8 runs "mqedge-history" (the same edge binary with
// --history-rooms '*=1000': every room keeps a 1,000-message window) beside plain mqedge and prints
// history on / off. s13 (issue 14) offers permessage-deflate as Chrome does, with realistic chat or
// telemetry JSON, over ws and wss, and prints bytes on the wire per delivery and memory per idle
// connection beside the CPU figures; "mqedge-nodeflate" is the same edge with the offer left out. s13z
// checks wsload's inflate path against npm ws (deflate-peer.mjs). s7, s9 and s10 have their own Node drivers (inbox-bench.mjs, history-bench.mjs,
// presence-bench.mjs), run from here and failing the run when they find anything lost or wrong.
//
//   tests/bench/run.sh [--smoke] [--runs R] [--only s1,s2,...] [--out results.jsonl] [--baseline BUILD_DIR]
//
// --baseline BUILD_DIR adds "baseline", the mqedge binary of another build (another commit, built
// with scripts/build.sh), to every scenario mqedge runs, in the same invocation, and a table of
// new / baseline ratios: how a change on the hot path is judged.
//
// run.sh puts it in a private network namespace (Mosquitto's WebSocket listener binds every
// interface; there only loopback exists). Servers run on core 0, the load tool on core 1. --smoke
// is the seconds-long version CI runs: it checks that every figure is produced and that nothing
// was lost, never a speed.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, appendFileSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import http from 'node:http';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = process.env.MQEDGE_BUILD_DIR ? join(process.env.MQEDGE_BUILD_DIR, 'bin') : join(ROOT, 'build', 'bin');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const opt = (name, dflt) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : dflt);
const SMOKE = flag('smoke');
const RUNS = Number(opt('runs', SMOKE ? 1 : 3));
const ONLY = opt('only', null)?.split(',');
const OUT = opt('out', null);
const PIN = cpus().length >= 2;
const EVENT_LOOP = opt('event-loop', null); // the edges' --event-loop (default: the edge's default)
const BASELINE = opt('baseline', null);
const BASELINE_BIN = BASELINE ? join(resolve(BASELINE), 'bin', 'mqedge') : null;
if (BASELINE_BIN && !existsSync(BASELINE_BIN)) {
  console.error(`bench: --baseline: ${BASELINE_BIN} does not exist (build that commit first)`);
  process.exit(2);
}
const HISTORY_FLAGS = ['--history-rooms', '*=1000'];
// the same binary under its supervisor with N worker processes (--workers N)
const WORKER_KINDS = { 'mqedge-w1': 1, 'mqedge-w2': 2 };
const SERVER_CORE = ['taskset', '-c', '0'];
const TOOL_CORE = ['taskset', '-c', '1'];
const tmp = mkdtempSync(join(tmpdir(), 'mqedge-bench-'));
const live = new Set();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

const delay = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const v = xs.filter((x) => x !== null && x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)] : null;
};
function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}
const listening = (port) => new Promise((res) => {
  const s = net.connect(port, '127.0.0.1', () => {
    s.destroy();
    res(true);
  });
  s.on('error', () => res(false));
});
async function waitListening(port, what) {
  for (let i = 0; i < 200; i++) {
    if (await listening(port)) return;
    await delay(25);
  }
  throw new Error(`${what} is not listening on ${port}`);
}

function start(name, cmd, args, { pin = true } = {}) {
  const full = pin && PIN ? [...SERVER_CORE, cmd, ...args] : [cmd, ...args];
  const p = spawn(full[0], full.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  p.name = name;
  p.errText = () => err;
  live.add(p);
  p.on('exit', () => live.delete(p));
  return p;
}
async function stop(p) {
  if (!p || p.exitCode !== null) return;
  const gone = new Promise((r) => p.on('exit', r));
  p.kill('SIGTERM');
  await Promise.race([gone, delay(8000)]);
  if (p.exitCode === null) p.kill('SIGKILL');
}
// One gauge or counter from an edge's GET /metrics (null when absent or unreachable).
const metric = (port, name) => new Promise((res) => {
  const req = http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false, timeout: 2000 }, (r) => {
    let body = '';
    r.on('data', (d) => (body += d));
    r.on('end', () => {
      const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(body);
      res(m ? Number(m[1]) : null);
    });
  });
  req.on('timeout', () => req.destroy());
  req.on('error', () => res(null));
});
// A pid of a process started through taskset is taskset's until it execs: the same pid.
const pidOf = (p) => p.pid;

// ---- servers ----

const cert = join(tmp, 'cert.pem');
const key = join(tmp, 'key.pem');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
  '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });

async function mosquitto({ ws = false } = {}) {
  const port = await freePort();
  const lines = ['user root', 'allow_anonymous true', 'persistence false', 'max_inflight_messages 0',
    'max_queued_messages 1000000', `listener ${port} 127.0.0.1`];
  const ports = { mqtt: port };
  if (ws) {
    ports.ws = await freePort();
    ports.wss = await freePort();
    lines.push(`listener ${ports.ws}`, 'protocol websockets', `listener ${ports.wss}`, 'protocol websockets',
      `certfile ${cert}`, `keyfile ${key}`);
  }
  const conf = join(tmp, `mosquitto-${port}.conf`);
  writeFileSync(conf, lines.join('\n') + '\n');
  const p = start('mosquitto', 'mosquitto', ['-c', conf]);
  await waitListening(port, 'mosquitto');
  if (ws) {
    await waitListening(ports.ws, 'mosquitto websockets');
    await waitListening(ports.wss, 'mosquitto secure websockets');
  }
  return { proc: p, ports };
}

async function edge(brokerPort, id, bin, extra = []) {
  const port = await freePort();
  const tlsPort = await freePort();
  const p = start(`edge-${id}`, bin, ['--bind', '127.0.0.1', '--port', String(port), '--tls-port', String(tlsPort),
    '--cert', cert, '--key', key, '--broker', `127.0.0.1:${brokerPort}`, '--edge-id', id, '--allow-anonymous',
    '--data-dir', join(tmp, `data-${id}-${port}`), '--log-level', 'warn', ...(EVENT_LOOP ? ['--event-loop', EVENT_LOOP] : []), ...extra]);
  await waitListening(port, `edge ${id}`);
  await waitListening(tlsPort, `edge ${id} (TLS)`);
  return { proc: p, port, tlsPort };
}

// One system under test, started fresh for each run so runs do not share state.
async function system(kind, { edges = 1, flags = [] } = {}) {
  if (kind === 'mosquitto') {
    const b = await mosquitto({ ws: true });
    return { kind, pids: [pidOf(b.proc)], broker: b.ports.mqtt, ws: [b.ports.ws], wss: [b.ports.wss], stop: () => stop(b.proc) };
  }
  const b = await mosquitto();
  const es = [];
  const bin = kind === 'baseline' ? BASELINE_BIN : join(BIN, 'mqedge'); // mqedge-nodeflate: the same edge
  // mqedge-history: the same binary, every room keeping a window of its newest 1,000 messages
  const workers = WORKER_KINDS[kind] ?? 0;
  const extra = [...(kind === 'mqedge-history' ? HISTORY_FLAGS : workers ? ['--workers', String(workers)] : []),
    // mqedge-noresume: the same edge issuing no TLS session tickets (every handshake full)
    ...(kind === 'mqedge-noresume' ? ['--tls-session-tickets', 'false'] : []), ...flags];
  for (let i = 0; i < edges; i++) es.push(await edge(b.ports.mqtt, `bench${i + 1}`, bin, extra));
  await delay(300); // the edges' first broker connect (a clean one, then the persistent one)
  // --workers: the supervisor and every worker are the server (their CPU and memory add up)
  const workerPids = [];
  for (const e of es) if (workers) workerPids.push(...(await workersOf(e, workers)));
  return {
    kind, pids: [...es.map((e) => pidOf(e.proc)), ...workerPids, pidOf(b.proc)], broker: b.ports.mqtt,
    ws: es.map((e) => e.port), wss: es.map((e) => e.tlsPort),
    stop: async () => {
      for (const e of es) await stop(e.proc);
      await stop(b.proc);
    },
  };
}

function wsload(args) {
  return new Promise((res, rej) => {
    const full = PIN ? [...TOOL_CORE, join(BIN, 'wsload'), ...args] : [join(BIN, 'wsload'), ...args];
    const p = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(p);
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => {
      live.delete(p);
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (!line) return rej(new Error(`wsload ${args.join(' ')}: no result (exit ${code}): ${err.slice(-800)}`));
      res(JSON.parse(line));
    });
  });
}

// The worker pids of an edge started with --workers n, once all n run and /readyz says ready.
async function workersOf(e, n) {
  const pid = pidOf(e.proc);
  for (let i = 0; i < 400; i++) {
    let kids = [];
    try {
      kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      /* not yet */
    }
    const ready = await new Promise((res) => {
      http.get({ host: '127.0.0.1', port: e.port, path: '/readyz', agent: false, timeout: 1000 }, (r) => {
        r.resume();
        res(r.statusCode === 200);
      }).on('error', () => res(false));
    });
    if (kids.length === n && ready) return kids;
    await delay(25);
  }
  throw new Error(`edge ${e.port}: ${n} workers did not become ready`);
}

// ---- one measurement ----

// Run r of scenario sc against one system: a fresh system, one wsload, one JSON result.
async function measureOnce(sc, kind, r) {
  let res;
  // issue 14: realistic payloads (the same bytes for every system) and Chrome's permessage-deflate offer
  const payload = sc.payload ? ['--payload', sc.payload] : [];
  const deflate = sc.deflate && kind !== 'mqedge-nodeflate' ? ['--deflate'] : [];
  if (kind === 'floor') {
    const port = await freePort();
    const fl = start('floor', join(BIN, 'floor'), ['--port', String(port), '--conns', String(sc.n), '--rate', String(sc.rate),
      '--duration', String(sc.duration), '--size', String(sc.size ?? 64), ...payload]);
    await waitListening(port, 'floor');
    try {
      res = await wsload(['--mode', 'floor', '--port', String(port), '-n', String(sc.n), '--rate', String(sc.rate),
        '--duration', String(sc.duration), '--server-pid', String(pidOf(fl)), '--label', `${sc.id} floor`, ...payload, ...deflate]);
    } finally {
      await stop(fl);
    }
  } else {
    const sys = await system(kind, { edges: sc.edges ?? 1, flags: sc.edgeFlags ?? [] });
    try {
      const tls = sc.tls === true;
      const ports = tls ? sys.wss : sys.ws;
      const args = ['--mode', kind === 'mosquitto' ? 'mosquitto' : 'mqedge', '--broker', `127.0.0.1:${sys.broker}`,
        '-n', String(sc.n), '--label', `${sc.id} ${kind}`];
      if (ports.length > 1) args.push('--targets', ports.map((p) => `127.0.0.1:${p}`).join(','));
      else args.push('--port', String(ports[0]));
      if (tls) args.push('--tls');
      args.push(...payload, ...deflate);
      if (sc.rooms) args.push('--rooms', String(sc.rooms));
      if (sc.concurrency) args.push('--concurrency', String(sc.concurrency));
      if (sc.connectTimeout) args.push('--connect-timeout', String(sc.connectTimeout));
      if (sc.storm) args.push('--connect-only', '--hold', '1', '--reconnect', '--tls-resume');
      else if (sc.idle) args.push('--connect-only', '--hold', String(sc.hold ?? 2), '--no-sub');
      else args.push('--rate', String(sc.rate), '--duration', String(sc.duration));
      for (const pid of sys.pids) args.push('--server-pid', String(pid));
      res = await wsload(args);
      // history on: the edges did keep a window (a flag silently ignored would make s8 meaningless)
      if (kind === 'mqedge-history') {
        const rooms = await Promise.all(sys.ws.map((p) => metric(p, 'mqedge_history_rooms')));
        res.history_rooms = rooms.reduce((a, x) => a + (x ?? 0), 0);
      }
      // s13: what the edge itself counted, so a shortfall at the clients can be placed (never got
      // the messages from the broker, or queued them and they did not arrive)
      if (sc.payload && kind.startsWith('mqedge')) {
        const names = ['mqedge_broker_messages_total', 'mqedge_deliveries_total', 'mqedge_drops_total{reason="slow_consumer"}',
          'mqedge_closes_total{reason="slow_consumer"}'];
        const got = await Promise.all(names.map((n) => metric(sys.ws[0], n)));
        res.edge_counters = Object.fromEntries(names.map((n, i) => [n, got[i]]));
      }
    } finally {
      await sys.stop();
    }
  }
  res.scenario = sc.id;
  res.system = kind;
  res.run = r;
  if (OUT) appendFileSync(OUT, JSON.stringify(res) + '\n');
  return res;
}

const summary = (rs) => ({
  runs: rs.length,
  ok: rs.every((r) => r.ok),
  lost: rs.reduce((a, r) => a + (r.lost ?? 0), 0),
  connected: median(rs.map((r) => r.connected)),
  dps: median(rs.map((r) => r.deliveries_per_s)),
  dpcpu: median(rs.map((r) => r.deliveries_per_server_cpu_s)),
  us: median(rs.map((r) => r.server_us_per_delivery)),
  p50: median(rs.map((r) => r.lat_us?.p50)),
  p99: median(rs.map((r) => r.lat_us?.p99)),
  kb: median(rs.map((r) => r.kb_per_conn)),
  // idle memory: RSS after holding the connections (the server may have given freed pages back)
  kb_idle: median(rs.map((r) => (r.server_rss_kb_end && r.server_rss_kb_before && r.connected
    ? (r.server_rss_kb_end - r.server_rss_kb_before) / r.connected : null))),
  cps: median(rs.map((r) => r.conns_per_s)),
  setup_us: median(rs.map((r) => r.server_us_per_conn_setup)),
  tool_us: median(rs.map((r) => r.tool_us_per_delivery)),
  history_rooms: Math.min(...rs.map((r) => r.history_rooms ?? 0)),
  rss_end: median(rs.map((r) => r.server_rss_kb_end)),
  runs_dpcpu: rs.map((r) => r.deliveries_per_server_cpu_s),
  // issue 14: bytes received per delivery (from the sockets: TLS records included; as WebSocket
  // frames; as messages after inflation), the memory of one idle connection of the first server (the
  // edge itself, without the broker behind it), and whether deliveries were exact in every run
  wire_b: median(rs.map((r) => r.wire_bytes_per_delivery)),
  ws_b: median(rs.map((r) => r.ws_bytes_per_delivery)),
  msg_b: median(rs.map((r) => r.msg_bytes_per_delivery)),
  kb_server: median(rs.map((r) => r.servers?.[0]?.kb_per_conn)),
  deflate: Math.min(...rs.map((r) => r.deflate_negotiated ?? 0)),
  deflate_answer: rs.find((r) => r.deflate_answer)?.deflate_answer ?? null,
  compressed: rs.reduce((a, r) => a + (r.compressed_msgs ?? 0), 0),
  exact: rs.every((r) => r.received === r.expected && r.dups === 0 && r.expected > 0),
  runs_setup_us: rs.map((r) => r.server_us_per_conn_setup),
  // s14: the reconnect wave (top-level set-up figures) and the first wave before it
  resumed: Math.min(...rs.map((r) => r.tls_resumed ?? 0)),
  setup_s: median(rs.map((r) => r.setup_s)),
  conn_p50: median(rs.map((r) => r.conn_ms?.p50)),
  conn_p99: median(rs.map((r) => r.conn_ms?.p99)),
  w1_connected: Math.min(...rs.map((r) => r.first_wave?.connected ?? 0)),
  w1_setup_s: median(rs.map((r) => r.first_wave?.setup_s)),
  w1_setup_us: median(rs.map((r) => r.first_wave?.server_us_per_conn_setup)),
});

// ---- scenarios ----

// s13 (issue 14): fan-out of realistic JSON (payload.h: chat messages, telemetry readings, 300-1,000
// bytes) to clients that offer permessage-deflate as Chrome does, over ws and wss, at N and big N; the
// floor where it applies (ws: it declines the offer, as Mosquitto does). mqedge-nodeflate is the same
// edge with the offer left out, at big N: what negotiating costs in memory, and what it saves in bytes.
function s13(n, big, duration, rate, bigRate) {
  const k = (x) => x.toLocaleString('en-US');
  const mk = (id, payload, tls, conns, r, systems) => ({
    id, title: `${payload} JSON, deflate offered, ${tls ? 'wss' : 'ws'}, ${r} msg/s x ${k(conns)}`, n: conns, rate: r, duration,
    payload, deflate: true, tls, systems,
    // 10,000 TLS handshakes queue on one server core: fewer in flight, each given longer (with 500 in
    // flight on a busy machine the edge's 10 s handshake timeout and wsload's 15 s cut some off)
    ...(tls && conns >= 5000 ? { concurrency: 100, connectTimeout: 60 } : {}),
  });
  return [
    mk('s13a', 'chat', false, n, rate, ['mqedge', 'mqedge-nodeflate', 'mosquitto', 'floor']),
    mk('s13b', 'chat', true, n, rate, ['mqedge', 'mqedge-nodeflate', 'mosquitto']),
    mk('s13c', 'chat', false, big, bigRate, ['mqedge', 'mqedge-nodeflate', 'mosquitto', 'floor']),
    mk('s13d', 'chat', true, big, bigRate, ['mqedge', 'mqedge-nodeflate', 'mosquitto']),
    mk('s13e', 'telemetry', false, n, rate, ['mqedge', 'mqedge-nodeflate', 'mosquitto', 'floor']),
    mk('s13f', 'telemetry', true, n, rate, ['mqedge', 'mqedge-nodeflate', 'mosquitto']),
  ];
}

// s14 (issue 14): a reconnect storm over wss. Every client is subscribed to its room; then all drop
// at once (a network blip: the TCP connections die without close_notify) and set up again, as many in
// flight as the scenario says, each offering the ticket the server gave it. Time until all are back
// and subscribed, server CPU per set-up, with and without resumption (mqedge-noresume issues no
// tickets); the edge's handshake timeout is raised so that it measures throughput, not its timeout.
function s14(n, concurrency) {
  return [{
    id: 's14', title: `reconnect storm, ${n.toLocaleString('en-US')} wss, ${concurrency.toLocaleString('en-US')} in flight`, n, storm: true, idle: true, tls: true,
    concurrency, connectTimeout: 120, edgeFlags: ['--handshake-timeout', '120'], systems: ['mqedge', 'mqedge-noresume', 'mosquitto'],
  }];
}

const dur = SMOKE ? 2 : 10;
const scenarios = SMOKE
  ? [
    { id: 's1', title: 'one room, max rate', n: 50, rate: 'max', duration: dur, systems: ['mqedge', 'mosquitto', 'floor'] },
    { id: 's2', title: 'fixed rate', n: 100, rate: 20, duration: dur, systems: ['mqedge', 'mosquitto', 'floor'] },
    { id: 's3', title: 'idle ws', n: 200, idle: true, hold: 1, systems: ['mqedge', 'mosquitto'] },
    { id: 's3t', title: 'idle wss', n: 50, idle: true, hold: 1, tls: true, systems: ['mqedge', 'mosquitto'] },
    { id: 's5', title: 'rooms of 10', n: 200, rooms: 20, rate: 40, duration: dur, systems: ['mqedge', 'mosquitto'] },
    { id: 's6', title: 'two edges', n: 100, rate: 20, duration: dur, edges: 2, systems: ['mqedge'] },
    { id: 's8', title: 'history on vs off, max rate', n: 50, rate: 'max', duration: dur, systems: ['mqedge', 'mqedge-history'] },
    { id: 's12', title: 'workers 0 vs 2, max rate', n: 50, rate: 'max', duration: dur, systems: ['mqedge', 'mqedge-w2'] },
    // issue 14, each full scenario scaled down: figures produced, deliveries exact, deflate negotiated by the edge
    ...s13(40, 40, dur, 25, 25),
    ...s14(100, 100),
  ]
  : [
    { id: 's1a', title: '1 room x 100, max rate', n: 100, rate: 'max', duration: dur, systems: ['mqedge', 'mosquitto', 'floor'] },
    { id: 's1b', title: '1 room x 1,000, max rate', n: 1000, rate: 'max', duration: dur, systems: ['mqedge', 'mosquitto', 'floor'] },
    { id: 's1c', title: '1 room x 10,000, max rate', n: 10000, rate: 'max', duration: dur, systems: ['mqedge', 'mosquitto', 'floor'] },
    { id: 's2a', title: '50 msg/s x 1,000', n: 1000, rate: 50, duration: dur, systems: ['mqedge', 'mosquitto', 'floor'] },
    { id: 's2b', title: '2 msg/s x 10,000', n: 10000, rate: 2, duration: dur, systems: ['mqedge', 'mosquitto', 'floor'] },
    { id: 's3a', title: '10,000 idle ws (set-up + memory)', n: 10000, idle: true, hold: 3, systems: ['mqedge', 'mosquitto'] },
    { id: 's3b', title: '2,000 idle wss (set-up + memory)', n: 2000, idle: true, hold: 3, tls: true, systems: ['mqedge', 'mosquitto'] },
    { id: 's5', title: '1,000 rooms x 10, 2,000 msg/s', n: 10000, rooms: 1000, rate: 2000, duration: dur, systems: ['mqedge', 'mosquitto'] },
    { id: 's6', title: 'two edges, 1,000 split, 50 msg/s', n: 1000, rate: 50, duration: dur, edges: 2, systems: ['mqedge'] },
    // the cost of history: the same edge with every room keeping a 1,000-message window
    { id: 's8a', title: 'history, 1 room x 1,000, max rate', n: 1000, rate: 'max', duration: dur, systems: ['mqedge', 'mqedge-history'] },
    { id: 's8b', title: 'history, 50 msg/s x 1,000', n: 1000, rate: 50, duration: dur, systems: ['mqedge', 'mqedge-history'] },
    // --workers: one process vs a supervisor with 1 and 2 workers (servers pinned to one core here)
    { id: 's12a', title: 'workers 0/1/2, 1 room x 1,000, max rate', n: 1000, rate: 'max', duration: dur, systems: ['mqedge', 'mqedge-w1', 'mqedge-w2'] },
    { id: 's12b', title: 'workers 0/1/2, 50 msg/s x 1,000', n: 1000, rate: 50, duration: dur, systems: ['mqedge', 'mqedge-w1', 'mqedge-w2'] },
    ...s13(1000, 10000, dur, 50, 2),
    ...s14(10000, 1000),
  ];
// --only s1 selects s1a, s1b, s1c but not s10
const selected = (id) => !ONLY || ONLY.some((o) => id === o || (id.startsWith(o) && !(/\d$/.test(o) && /\d/.test(id[o.length]))));

const fmt = (x, d = 0) => (x === null || x === undefined ? '—' : Number(x).toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const ratio = (a, b, d = 2) => (a && b ? fmt(a / b, d) : '—');
// run r of one system against run r of another (the runs are interleaved, so pairs ran side by side)
const paired = (xs, ys) => (xs && ys ? xs.map((x, i) => ratio(x, ys[i])).join(', ') : '—');

let problems = [];
const table = [];
for (const sc of scenarios) {
  if (!selected(sc.id)) continue;
  const row = { sc, by: {} };
  const systems = BASELINE && sc.systems.includes('mqedge') ? ['mqedge', 'baseline', ...sc.systems.slice(1)] : sc.systems;
  // runs interleaved (run 1 of every system, then run 2, ...): a slow drift of the machine hits every
  // system alike instead of whichever ran last
  const results = Object.fromEntries(systems.map((k) => [k, []]));
  const failed = new Set();
  for (let r = 0; r < RUNS; r++) {
    for (const kind of systems) {
      if (failed.has(kind)) continue;
      process.stderr.write(`bench: ${sc.id} ${sc.title}: ${kind} run ${r + 1}/${RUNS}\n`);
      try {
        results[kind].push(await measureOnce(sc, kind, r));
      } catch (e) {
        failed.add(kind);
        problems.push(`${sc.id} ${kind}: ${e.message}`);
      }
    }
  }
  for (const kind of systems) {
    if (failed.has(kind)) continue;
    row.by[kind] = summary(results[kind]);
    const s = row.by[kind];
    if (!s.ok) problems.push(`${sc.id} ${kind}: a run did not complete`);
    if (s.lost) problems.push(`${sc.id} ${kind}: ${s.lost} deliveries lost`);
    if (s.connected !== sc.n) problems.push(`${sc.id} ${kind}: ${s.connected} of ${sc.n} connected`);
    if (!sc.idle && !(s.dpcpu > 0)) problems.push(`${sc.id} ${kind}: no deliveries per CPU-second figure`);
    if (sc.idle && s.kb === null) problems.push(`${sc.id} ${kind}: no memory figure`);
    if (sc.storm) {
      if (s.w1_connected !== sc.n) problems.push(`${sc.id} ${kind}: first wave ${s.w1_connected} of ${sc.n} connected`);
      if (!(s.setup_s > 0 && s.setup_us > 0 && s.w1_setup_us > 0)) problems.push(`${sc.id} ${kind}: no set-up time or CPU figure`);
      // the edge resumes every client it gave a ticket to; with tickets off, none
      if (kind === 'mqedge' && s.resumed !== sc.n) problems.push(`${sc.id} ${kind}: ${s.resumed} of ${sc.n} resumed`);
      if (kind === 'mqedge-noresume' && s.resumed !== 0) problems.push(`${sc.id} ${kind}: ${s.resumed} resumed with tickets off`);
    }
    if (kind === 'mqedge-history' && !(s.history_rooms >= 1)) problems.push(`${sc.id} ${kind}: the edge kept no history room`);
    if (sc.payload) {
      if (!s.exact) {
        problems.push(`${sc.id} ${kind}: deliveries not exact (received ≠ expected, or duplicates): ` +
          results[kind].map((r) => `run ${r.run + 1}: ${r.received}/${r.expected}, ${r.subs_with_loss} clients missed up to ${r.worst_sub_missing}` +
            `${r.edge_counters ? `, edge counted ${JSON.stringify(r.edge_counters)}` : ''}`).join('; '));
      }
      if (!(s.wire_b > 0 && s.ws_b > 0 && s.msg_b > 0)) problems.push(`${sc.id} ${kind}: no bytes-per-delivery figure`);
      if (kind !== 'floor' && !(s.kb_server !== null)) problems.push(`${sc.id} ${kind}: no memory figure`);
      // the edge accepts the offer by default: if it did not, s13 would measure nothing new
      if (kind === 'mqedge' && sc.deflate && s.deflate !== sc.n) problems.push(`${sc.id} ${kind}: deflate negotiated on ${s.deflate} of ${sc.n}`);
    }
  }
  table.push(row);
}

// ---- report ----

const lines = [];
lines.push(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${execFileSync('uname', ['-r']).toString().trim()}; ` +
  `servers on core 0, wsload on core 1${PIN ? '' : ' (not pinned: one core)'}; medians of ${RUNS} run(s); mosquitto ${spawnSync('mosquitto', ['-h']).stdout.toString().split('\n')[0].replace('mosquitto version ', '')}`);
lines.push('');
lines.push('| scenario | system | deliveries/s | server µs/delivery | deliveries per server CPU-s | p50 ms | p99 ms | KB/conn set up | KB/conn idle | conn/s | µs CPU/set-up | lost |');
lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const { sc, by } of table) {
  for (const [kind, s] of Object.entries(by)) {
    lines.push(`| ${sc.id} ${sc.title} | ${kind} | ${sc.idle ? '—' : fmt(s.dps)} | ${sc.idle ? '—' : fmt(s.us, 2)} | ${sc.idle ? '—' : fmt(s.dpcpu)} | ` +
      `${sc.idle ? '—' : fmt(s.p50 / 1000, 1)} | ${sc.idle ? '—' : fmt(s.p99 / 1000, 1)} | ${sc.idle ? fmt(s.kb, 2) : '—'} | ` +
      `${sc.idle ? fmt(s.kb_idle, 2) : '—'} | ${sc.idle ? fmt(s.cps) : '—'} | ${sc.idle ? fmt(s.setup_us) : '—'} | ${s.lost} |`);
  }
}
lines.push('');
lines.push('| scenario | deliveries per CPU-s, mqedge / Mosquitto | µs per delivery, mqedge / floor | p50, mqedge / Mosquitto | p99, mqedge / Mosquitto | KB per idle conn, mqedge / Mosquitto | set-up CPU, mqedge / Mosquitto |');
// (KB ratio: idle figures, after the hold)
lines.push('|---|---:|---:|---:|---:|---:|---:|');
for (const { sc, by } of table) {
  const m = by.mqedge;
  const q = by.mosquitto;
  const f = by.floor;
  if (!m) continue;
  lines.push(`| ${sc.id} ${sc.title} | ${sc.idle ? '—' : ratio(m.dpcpu, q?.dpcpu)} | ${sc.idle ? '—' : ratio(m.us, f?.us)} | ` +
    `${sc.idle ? '—' : ratio(m.p50, q?.p50)} | ${sc.idle ? '—' : ratio(m.p99, q?.p99)} | ${sc.idle ? ratio(m.kb_idle, q?.kb_idle) : '—'} | ${sc.idle ? ratio(m.setup_us, q?.setup_us) : '—'} |`);
}
if (BASELINE) {
  lines.push('');
  lines.push(`against the baseline build ${BASELINE} (same run):`);
  lines.push('');
  lines.push('| scenario | deliveries per CPU-s, new / baseline | per run | µs per delivery, new / baseline | p50, new / baseline | p99, new / baseline | KB per idle conn, new / baseline | set-up CPU, new / baseline |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const { sc, by } of table) {
    const m = by.mqedge;
    const b = by.baseline;
    if (!m || !b) continue;
    lines.push(`| ${sc.id} ${sc.title} | ${sc.idle ? '—' : ratio(m.dpcpu, b.dpcpu)} | ${sc.idle ? `set-up CPU: ${paired(m.runs_setup_us, b.runs_setup_us)}` : paired(m.runs_dpcpu, b.runs_dpcpu)} | ${sc.idle ? '—' : ratio(m.us, b.us)} | ` +
      `${sc.idle ? '—' : ratio(m.p50, b.p50)} | ${sc.idle ? '—' : ratio(m.p99, b.p99)} | ${sc.idle ? ratio(m.kb_idle, b.kb_idle) : '—'} | ${sc.idle ? ratio(m.setup_us, b.setup_us) : '—'} |`);
  }
}
if (table.some(({ by }) => by['mqedge-history'])) {
  lines.push('');
  lines.push(`history on (${HISTORY_FLAGS.join(' ')}) against off, same binary, same run:`);
  lines.push('');
  lines.push('| scenario | deliveries per CPU-s, on / off | per run | µs per delivery, on / off | p50, on / off | p99, on / off | server RSS at the end, on − off (KB) |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const { sc, by } of table) {
    const on = by['mqedge-history'];
    const off = by.mqedge;
    if (!on || !off) continue;
    lines.push(`| ${sc.id} ${sc.title} | ${ratio(on.dpcpu, off.dpcpu)} | ${paired(on.runs_dpcpu, off.runs_dpcpu)} | ${ratio(on.us, off.us)} | ${ratio(on.p50, off.p50)} | ` +
      `${ratio(on.p99, off.p99)} | ${on.rss_end !== null && off.rss_end !== null ? fmt(on.rss_end - off.rss_end) : '—'} |`);
  }
}
if (table.some(({ sc }) => sc.payload)) {
  lines.push('');
  lines.push('issue 14: realistic JSON, permessage-deflate offered as Chrome does (mqedge-nodeflate: not offered); bytes received per delivery ' +
    '(socket: TLS records included; frames: WebSocket headers + payloads; message: after inflation); KB per idle connection after set-up ' +
    '(before the load) of the first server alone: the edge without its broker, Mosquitto, the floor:');
  lines.push('');
  lines.push('| scenario | system | deflate negotiated | compressed msgs | deliveries per server CPU-s | server µs/delivery | socket bytes/delivery | frame bytes/delivery | message bytes/delivery | KB per idle conn | p50 ms | p99 ms | lost |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { sc, by } of table) {
    if (!sc.payload) continue;
    for (const [kind, s] of Object.entries(by)) {
      lines.push(`| ${sc.id} ${sc.title} | ${kind} | ${fmt(s.deflate)} of ${fmt(sc.n)} | ${fmt(s.compressed)} | ${fmt(s.dpcpu)} | ${fmt(s.us, 2)} | ` +
        `${fmt(s.wire_b, 1)} | ${fmt(s.ws_b, 1)} | ${fmt(s.msg_b, 1)} | ${kind === 'floor' ? '—' : fmt(s.kb_server, 2)} | ${fmt(s.p50 / 1000, 1)} | ${fmt(s.p99 / 1000, 1)} | ${s.lost} |`);
    }
  }
  const answers = [...new Set(table.filter(({ sc }) => sc.payload).flatMap(({ by }) => Object.entries(by)
    .filter(([, s]) => s.deflate_answer).map(([kind, s]) => `${kind}: "${s.deflate_answer}"`)))];
  lines.push('');
  lines.push(`answers to the offer: ${answers.length ? answers.join('; ') : 'none accepted it'}`);
  lines.push('');
  lines.push('| scenario | deliveries per CPU-s, mqedge / Mosquitto | µs per delivery, mqedge / floor | socket bytes per delivery, mqedge / Mosquitto | mqedge / floor | KB per idle conn, mqedge / Mosquitto | mqedge / mqedge-nodeflate |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const { sc, by } of table) {
    if (!sc.payload || !by.mqedge) continue;
    const m = by.mqedge;
    lines.push(`| ${sc.id} ${sc.title} | ${ratio(m.dpcpu, by.mosquitto?.dpcpu)} | ${ratio(m.us, by.floor?.us)} | ${ratio(m.wire_b, by.mosquitto?.wire_b)} | ` +
      `${ratio(m.wire_b, by.floor?.wire_b)} | ${ratio(m.kb_server, by.mosquitto?.kb_server)} | ${ratio(m.kb_server, by['mqedge-nodeflate']?.kb_server)} |`);
  }
}
if (table.some(({ sc }) => sc.storm)) {
  lines.push('');
  lines.push('s14: every client subscribed, all dropped at once, all set up again offering their session ticket (wsload --reconnect --tls-resume); ' +
    'the reconnect wave against the first (full handshakes) wave:');
  lines.push('');
  lines.push('| scenario | system | resumed | all back and subscribed in s | conn/s | server µs CPU per set-up | set-up p50 ms | p99 ms | first wave: s | first wave: µs CPU per set-up |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { sc, by } of table) {
    if (!sc.storm) continue;
    for (const [kind, s] of Object.entries(by)) {
      lines.push(`| ${sc.id} ${sc.title} | ${kind} | ${fmt(s.resumed)} of ${fmt(sc.n)} | ${fmt(s.setup_s, 2)} | ${fmt(s.cps)} | ${fmt(s.setup_us)} | ` +
        `${fmt(s.conn_p50, 1)} | ${fmt(s.conn_p99, 1)} | ${fmt(s.w1_setup_s, 2)} | ${fmt(s.w1_setup_us)} |`);
    }
    const m = by.mqedge;
    lines.push('');
    lines.push(`${sc.id}: reconnect wave, mqedge / mqedge-noresume: time ${ratio(m?.setup_s, by['mqedge-noresume']?.setup_s)}, CPU per set-up ` +
      `${ratio(m?.setup_us, by['mqedge-noresume']?.setup_us)}; mqedge / Mosquitto: time ${ratio(m?.setup_s, by.mosquitto?.setup_s)}, CPU per set-up ${ratio(m?.setup_us, by.mosquitto?.setup_us)}`);
  }
}
console.log(lines.join('\n'));

// s13z: wsload's inflate path against npm ws compressing every message (deflate-peer.mjs), with and
// without context takeover: every message must arrive, compressed, and inflate to exactly the bytes sent.
async function inflateCheck() {
  const n = SMOKE ? 10 : 50;
  const msgs = SMOKE ? 200 : 1000;
  const out = [];
  for (const mode of [[], ['--no-context-takeover']]) {
    const port = await freePort();
    const peer = spawn(process.execPath, [join(ROOT, 'tests', 'bench', 'deflate-peer.mjs'), '--port', String(port), '--conns', String(n),
      '--msgs', String(msgs), ...mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(peer);
    let pout = '';
    peer.stdout.on('data', (d) => (pout += d));
    const exited = new Promise((r) => peer.on('exit', r));
    try {
      await waitListening(port, 'deflate-peer');
      const r = await wsload(['--mode', 'floor', '--deflate', '--port', String(port), '-n', String(n), '--duration', '1', '--drain', '2',
        '--label', `s13z ${mode.length ? 'server_no_context_takeover' : 'context takeover'}`]);
      await Promise.race([exited, delay(5000)]);
      const p = JSON.parse(pout.trim() || 'null');
      const what = mode.length ? 'server_no_context_takeover' : 'context takeover';
      if (!p) problems.push(`s13z ${what}: deflate-peer printed nothing`);
      else if (!(r.ok && r.lost === 0 && r.received === r.expected && r.expected === n * msgs && r.compressed_msgs === n * (msgs + 1) &&
        r.rx_msg_bytes === n * p.bytes_per_client && r.deflate_negotiated === n)) {
        problems.push(`s13z ${what}: received ${r.received}/${r.expected} (want ${n * msgs}), compressed ${r.compressed_msgs} ` +
          `(want ${n * (msgs + 1)}), message bytes ${r.rx_msg_bytes} (want ${p ? n * p.bytes_per_client : '?'}), negotiated ${r.deflate_negotiated}: ${r.first_error}`);
      }
      out.push(`${what}: ${r.received} messages inflated exactly, ${fmt(r.wire_bytes_per_delivery, 1)} socket bytes for ${fmt(r.msg_bytes_per_delivery, 1)} message bytes each`);
      if (OUT) appendFileSync(OUT, JSON.stringify({ ...r, scenario: 's13z', system: 'deflate-peer' }) + '\n');
    } catch (e) {
      problems.push(`s13z: ${e.message}`);
    } finally {
      if (peer.exitCode === null) peer.kill('SIGKILL');
    }
  }
  console.log(`\ns13z wsload inflate check against npm ws: ${out.join('; ')}`);
}
let checks = 0;
if (selected('s13z')) {
  process.stderr.write('bench: s13z wsload inflate check\n');
  await inflateCheck();
  checks++;
}

// Scenarios with their own Node driver (npm ws/mqtt clients and the integration harness; each starts
// its own broker and edges on free loopback ports and exits non-zero when anything was lost or wrong):
// s7 the inbox, s9 a resume storm in a history room, s10 presence churn over two edges, s11 rpc. s7 runs for the
// baseline build too when there is one; s9 and s10 need history and presence, so the current build only.
const drivers = [
  { id: 's7', title: 'inbox store rate and backlog replay', file: 'inbox-bench.mjs', summary: 'inbox:', baseline: true,
    smoke: ['--notifications', '2000', '--backlog', '200'] },
  { id: 's9', title: 'resume storm in a history room, one edge', file: 'history-bench.mjs', summary: 'history:',
    smoke: ['--clients', '50', '--missed', '20'] },
  { id: 's10', title: 'presence churn over two edges', file: 'presence-bench.mjs', summary: 'presence:',
    smoke: ['--conns-per-edge', '20', '--rate', '100', '--duration', '2'] },
  { id: 's11', title: 'rpc round trips through one edge, 1 and 4 workers', file: 'rpc-bench.mjs', summary: 'rpc:',
    smoke: ['--clients', '10', '--window', '2', '--duration', '1'] },
];
let driven = 0;
for (const d of drivers) {
  if (!selected(d.id)) continue;
  driven++;
  const builds = [['mqedge', join(BIN, 'mqedge')], ...(BASELINE && d.baseline ? [['baseline', BASELINE_BIN]] : [])];
  for (const [name, bin] of builds) {
    process.stderr.write(`bench: ${d.id} ${d.title}: ${name}\n`);
    const args = [join(ROOT, 'tests', 'bench', d.file), '--runs', String(RUNS), ...(SMOKE ? d.smoke : [])];
    const r = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MQEDGE_BIN: bin } });
    let out = '';
    let err = '';
    r.stdout.on('data', (x) => (out += x));
    r.stderr.on('data', (x) => (err += x));
    const code = await new Promise((res) => r.on('exit', res));
    const summaryLine = err.trim().split('\n').filter((l) => l.startsWith(d.summary)).pop();
    if (code !== 0) problems.push(`${d.id} ${d.file} ${name}: exit ${code}: ${err.slice(-1500)}`);
    else if (!summaryLine) problems.push(`${d.id} ${d.file} ${name}: no summary line`);
    if (OUT) appendFileSync(OUT, out);
    console.log(`\n${d.id} ${name} ${summaryLine ?? '(no summary)'}`);
  }
}

if (problems.length) {
  console.log(`\nbench problems:\n  ${problems.join('\n  ')}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
console.log(`\nbench: ${table.length + driven + checks} scenarios, every figure produced, nothing lost`);
process.exit(0);
