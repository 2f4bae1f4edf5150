#!/usr/bin/env node
// The soak (issue 10, docs/TESTING.md "Soak"): a real mosquitto (persistent), two real edges and
// thousands of real clients (npm ws, some over wss) for a fixed time, with churn, room traffic, direct
// messages and notifications, one broker restart and one edge SIGKILL + restart in the middle.
// Owns the run: the servers (through the integration harness), the driver processes (worker.mjs, each
// holding a slice of the clients), the notifier (HTTP notify API), the samples of every server's RSS,
// fds and CPU, and the verdict. Exits non-zero on any loss, duplicate, unrecovered resume, unexpected
// close or error frame, crash or sanitizer report, climbing RSS or leaked descriptor.
//
//   node tests/soak/soak.mjs [--seconds 600] [--ws 10000] [--wss 1000] [--out DIR] [--ci]
//   more knobs: --workers N --room-size 50 --pub-interval 30 --dm-interval 60 --notify-rate 20
//               --churn 0.01 --history-seconds 120 --history-ttl SECONDS --sample 5
// --ci is the 60-second version ctest runs (label soak): its sizes are below, in CI_PRESET.
import { fork, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import os from 'node:os';
import { Env, freePort, delay, waitFor, httpGet, MQEDGE_BIN } from '../integration/lib/harness.mjs';
import { options, quantile, round, cpuSeconds, metric } from '../bench/lib.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
// Sized so that the normal and the ASan tree both pass on the 2-core CI machine (docs/TESTING.md).
const CI_PRESET = { seconds: 60, ws: 1800, wss: 200, 'pub-interval': 5, 'dm-interval': 10, 'notify-rate': 20, 'history-seconds': 20, sample: 2, 'room-size': 20 };
const FULL = { seconds: 600, ws: 10000, wss: 1000, 'pub-interval': 30, 'dm-interval': 60, 'notify-rate': 20, 'history-seconds': 120, sample: 5, 'room-size': 50, churn: 0.01 };

const argv = process.argv.slice(2);
const cli = options(argv);
const o = { ...FULL, ...(argv.includes('--ci') ? CI_PRESET : {}), ...cli };
const SECONDS = Number(o.seconds);
const N_WS = Number(o.ws);
const N_WSS = Number(o.wss);
const N = N_WS + N_WSS;
const ROOM_SIZE = Number(o['room-size']);
const PUB_MS = Number(o['pub-interval']) * 1000;
const DM_MS = Number(o['dm-interval']) * 1000;
const NOTIFY_RATE = Number(o['notify-rate']);
const CHURN = Number(o.churn);
const HISTORY_S = Number(o['history-seconds']);
const SAMPLE_MS = Number(o.sample) * 1000;
const WORKERS = Number(o.workers ?? Math.max(2, Math.ceil(N / 3000)));
const OUT = o.out ?? join(process.cwd(), 'soak-out', new Date().toISOString().replace(/[:.]/g, '-'));
const API_KEY = 'soak-api-key';
// Bounds of the verdict (docs/TESTING.md explains each)
const DM_MARGIN_MS = 2000; // a direct message is owed to a recipient connected from 2 s before the send until 2 s after its ok
const READ_PROPAGATION_MS = 10000; // a read mark reaches the other edge within 10 s (outside disruptions)
const RSS_TOLERANCE = { ratio: 0.05, bytes: 8 << 20 };
// an AddressSanitizer build of the edge (it links libasan): RSS is not judged there
const SANITIZED = (() => {
  try {
    return execFileSync('ldd', [MQEDGE_BIN], { encoding: 'utf8' }).includes('libasan');
  } catch {
    return false;
  }
})();
const FD_TOLERANCE = 16;

mkdirSync(OUT, { recursive: true });
const log = (s) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} soak: ${s}\n`);
const failures = [];
const fail = (s) => {
  failures.push(s);
  log(`FAIL: ${s}`);
};

// ---------------------------------------------------------------------------------------------------
// Servers

const env = new Env(null, 'soak');
const roomsPerPattern = ROOM_SIZE; // messages per second in one room = ROOM_SIZE / pub interval
const perRoomRate = roomsPerPattern / (PUB_MS / 1000);
// the window holds HISTORY_S seconds of a room (by ttl, and about as much by count): longer than any
// disconnection here, and full early (1.5 × HISTORY_S is the warm-up of the RSS verdict)
// (--history-ttl 0: no ttl, the size alone bounds it)
const HISTORY_TTL = Number(o['history-ttl'] ?? HISTORY_S);
const HISTORY = `soak-*=${Math.ceil(perRoomRate * HISTORY_S * 1.2) + 10}/${HISTORY_TTL}`;

function makeCert() {
  const key = join(env.tmp, 'soak.key');
  const crt = join(env.tmp, 'soak.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', crt], { stdio: 'ignore' });
  return { key, crt };
}

const procStatus = (pid) => {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: Number(/VmRSS:\s+(\d+)/.exec(s)[1]) * 1024, fds: readdirSync(`/proc/${pid}/fd`).length, cpu: cpuSeconds(pid), state: /State:\s+(\S)/.exec(s)?.[1] };
  } catch {
    return null; // gone (killed) between the check and the read
  }
};

// ---------------------------------------------------------------------------------------------------
// The run

const t0Wall = Date.now();
const events = []; // { what, t (s since traffic start), wallStart, wallEnd }
const samples = []; // { t, edges: [{ id, instance, pid, rss, fds, conns, cpu }], broker: {...}, clients }
let trafficWall = null;
const tSec = (w = Date.now()) => (trafficWall === null ? null : round((w - trafficWall) / 1000, 1));
const workers = [];
const edgeInstance = [1, 1];
let broker;
let edges;
let stopping = false;
// An edge or the broker that dies on its own (crash, sanitizer abort) ends the run at once: nothing
// after it would be meaningful. `guard(p)` races p against that.
let crashed;
const crashedP = new Promise((_, rej) => (crashed = rej));
crashedP.catch(() => {});
const guard = (p) => Promise.race([p, crashedP]);
function watchServers() {
  for (const p of [...env.brokers, ...env.edges]) {
    if (p.proc.problems.length && !stopping) crashed(new Error(p.proc.problems.join('; ')));
  }
}

async function startServers() {
  const cert = makeCert();
  broker = await env.startBroker('broker', {
    saveEveryChange: false,
    // queue without limit for the edges' persistent sessions while one is away (the edge SIGKILL)
    extra: ['max_queued_messages 1000000', 'max_inflight_messages 0'],
  });
  edges = [];
  for (const id of ['e1', 'e2']) {
    const tlsPort = await freePort();
    const e = await env.startEdge({
      id, broker, extra: ['--tls-port', String(tlsPort), '--cert', cert.crt, '--key', cert.key, '--history-rooms', HISTORY,
        '--api-key', API_KEY, '--log-level', process.env.SOAK_EDGE_LOG_LEVEL ?? 'warn'],
    });
    e.tlsPort = tlsPort;
    edges.push(e);
  }
}

async function sample() {
  const s = { t: tSec(), wall: Date.now(), edges: [], clients: workers.reduce((a, w) => a + (w.stats?.connected ?? 0), 0) };
  for (const [k, e] of edges.entries()) {
    const pid = e.proc.running ? e.proc.pid : null;
    const st = pid ? procStatus(pid) : null;
    let conns = NaN;
    let pending = NaN;
    if (st) {
      try {
        const m = (await httpGet(e.port, '/metrics', { timeoutMs: 3000 })).body;
        conns = Number(/^mqedge_connections\{kind="user"\} (\S+)$/m.exec(m)?.[1]);
        pending = Number(/^mqedge_broker_pending (\S+)$/m.exec(m)?.[1]);
      } catch {
        /* busy or restarting: the sample keeps NaN */
      }
    }
    s.edges.push({ id: e.id, instance: edgeInstance[k], pid, ...(st ?? {}), conns, pending });
  }
  const bpid = broker.proc.running ? broker.proc.pid : null;
  s.broker = bpid ? procStatus(bpid) : null;
  s.workersCpu = workers.reduce((a, w) => {
    try {
      return a + cpuSeconds(w.child.pid);
    } catch {
      return a; // gone
    }
  }, 0);
  samples.push(s);
  return s;
}

// Notifications: NOTIFY_RATE a second, each to one user, through the HTTP API of an edge that is up,
// with our own id so a retry (on failure or 503, to the other edge) is the same notification.
const notes = { sent: 0, confirmed: new Map(), retries: 0, failedAttempts: 0, given: 0 };
function postNotification(edge, n, user) {
  const body = JSON.stringify({ kind: 'mailbox', actor: 'soakbot', title: `soak ${n}`, data: { n }, id: `soak-${n}`, to: [user] });
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: edge.port, path: '/api/v1/notifications', method: 'POST', agent: false, timeout: 10000,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}`, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end(body);
  });
}
async function notifyOne(n, user) {
  for (let attempt = 0; ; attempt++) {
    const live = edges.filter((e) => e.proc.running);
    const edge = live[(n + attempt) % Math.max(1, live.length)];
    const status = edge ? await postNotification(edge, n, user) : 0;
    if (status === 201) return void notes.confirmed.set(n, user);
    notes.failedAttempts++;
    if (stopping && attempt > 60) return void notes.given++;
    notes.retries++;
    await delay(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
  }
}
let notifier = null;
function startNotifier() {
  const inflight = new Set();
  let carry = 0;
  const timer = setInterval(() => {
    carry += NOTIFY_RATE / 10;
    for (; carry >= 1; carry--) {
      const n = ++notes.sent;
      const p = notifyOne(n, `u${Math.floor(Math.random() * N)}`).finally(() => inflight.delete(p));
      inflight.add(p);
    }
  }, 100);
  notifier = { stop: async () => (clearInterval(timer), Promise.all([...inflight])) };
}

function forkWorkers(specs) {
  const per = Math.ceil(specs.length / WORKERS);
  for (let w = 0; w < WORKERS; w++) {
    const child = fork(join(HERE, 'worker.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const wk = { child, stats: null, waiters: new Map() };
    child.on('error', (e) => fail(`driver ${w}: ${e.message}`));
    child.on('message', (m) => {
      if (m.type === 'stats') wk.stats = m;
      else if (m.type === 'fatal') fail(`driver ${w}: ${m.error}`);
      const res = wk.waiters.get(m.type);
      if (res) wk.waiters.delete(m.type), res(m);
    });
    child.on('exit', (code, sig) => {
      if (!stopping) fail(`driver ${w} exited (code=${code} signal=${sig})`);
    });
    wk.expect = (type, timeoutMs) => new Promise((res, rej) => {
      if (child.exitCode !== null || child.signalCode !== null) return rej(new Error(`driver ${w} is gone`));
      wk.waiters.set(type, res);
      setTimeout(() => rej(new Error(`driver ${w}: no ${type} within ${timeoutMs} ms`)), timeoutMs).unref();
    });
    wk.specs = specs.slice(w * per, (w + 1) * per);
    workers.push(wk);
  }
}

async function run() {
  log(`${N_WS} ws + ${N_WSS} wss clients, ${SECONDS} s, rooms of ${ROOM_SIZE} (history ${HISTORY}), pub every ${PUB_MS / 1000} s, ` +
    `dm every ${DM_MS / 1000} s, ${NOTIFY_RATE} notifications/s, churn ${CHURN * 100} %/s, ${WORKERS} driver processes; out ${OUT}`);
  await startServers();
  const baseline = edges.map((e) => procStatus(e.proc.pid));
  log(`broker :${broker.port}, edges ${edges.map((e) => `${e.id} :${e.port} wss :${e.tlsPort}`).join(', ')}; idle fds ${baseline.map((b) => b.fds).join('/')}`);

  // every room has members on both edges (client i on edge i % 2); every N-th client speaks TLS
  const specs = [];
  for (let i = 0; i < N; i++) {
    const user = `u${i}`;
    specs.push({ i, user, token: env.token(user, { rooms: ['soak-*'], exp: Math.floor(Date.now() / 1000) + SECONDS + 3600 }),
      tls: Math.floor(((i + 1) * N_WSS) / N) > Math.floor((i * N_WSS) / N), edge: i % 2, room: `soak-${Math.floor(i / ROOM_SIZE)}`,
      dmTo: `u${(i + Math.floor(N / 2) + 1) % N}` });
  }
  forkWorkers(specs);
  const tc0 = Date.now();
  const ready = workers.map((w) => w.expect('ready', 20 * 60 * 1000));
  for (const w of workers) w.child.send({ cmd: 'init', clients: w.specs, edges: edges.map((e) => ({ port: e.port, tlsPort: e.tlsPort })),
    opts: { pubIntervalMs: PUB_MS, dmIntervalMs: DM_MS, churn: CHURN, connectConcurrency: 50, quiesceTimeoutMs: 60000 } });
  const sampler0 = setInterval(() => void sample(), SAMPLE_MS);
  await Promise.all(ready);
  clearInterval(sampler0);
  samples.length = 0;
  const connectS = (Date.now() - tc0) / 1000;
  log(`all ${N} clients connected and joined in ${connectS.toFixed(1)} s`);

  // traffic
  trafficWall = Date.now();
  for (const w of workers) w.child.send({ cmd: 'traffic' });
  startNotifier();
  const sampler = setInterval(() => {
    watchServers();
    if (stopping) return;
    sample().then((s) => {
      if (Math.round(s.t) % 30 < SAMPLE_MS / 1000 || SECONDS <= 120) {
        log(`t=${s.t}s clients=${s.clients} ` + s.edges.map((e) => `${e.id}#${e.instance} rss=${round((e.rss ?? 0) / 2 ** 20)}M fds=${e.fds} conns=${e.conns}`).join(' ') +
          ` notes=${notes.confirmed.size}/${notes.sent}`);
      }
    }, (e) => log(`sample failed: ${e.message}`));
  }, SAMPLE_MS);
  const at = (frac) => delay(Math.max(0, trafficWall + frac * SECONDS * 1000 - Date.now()));

  // the broker restart: SIGTERM (mosquitto saves its persistence file on the way out) and start on the
  // same port with the same file. (A SIGKILL loses what arrived since the last autosave: PROTOCOL
  // section 5; this run asserts zero loss, so it restarts the broker the way an operator does.)
  await guard(at(0.35));
  let w0 = Date.now();
  log('broker restart (SIGTERM, start again with its persistence file)');
  await broker.kill('SIGTERM');
  await broker.start({ port: broker.port });
  await guard(Promise.all(edges.map((e) => e.waitReady(60000))));
  events.push({ what: 'broker restart', t: tSec(w0), wallStart: w0, wallEnd: Date.now() });
  log(`broker back, both edges ready after ${((Date.now() - w0) / 1000).toFixed(1)} s`);

  await guard(at(0.5));
  w0 = Date.now();
  log('edge e2 SIGKILL + restart');
  await edges[1].kill('SIGKILL');
  edgeInstance[1]++;
  await guard(edges[1].start({ port: edges[1].port, timeoutMs: 60000 }));
  events.push({ what: 'edge e2 SIGKILL + restart', t: tSec(w0), wallStart: w0, wallEnd: Date.now() });
  log(`e2 ready again after ${((Date.now() - w0) / 1000).toFixed(1)} s`);

  await guard(at(1));
  const trafficEnd = Date.now();
  clearInterval(sampler);
  await sample();
  log('traffic stops: notifier drains, clients finish what is in flight');
  stopping = true;
  await notifier.stop();
  await Promise.all(workers.map((w) => {
    const q = w.expect('quiet', 120000);
    w.child.send({ cmd: 'quiesce' });
    return q;
  })).then((qs) => {
    const stuck = qs.reduce((a, q) => a + q.stuck, 0);
    if (stuck) fail(`${stuck} clients not connected and resumed, or with a request unanswered, 60 s after traffic stopped`);
  });
  // let the last deliveries land: every edge has nothing left for the broker, then two seconds more
  await waitFor(async () => (await Promise.all(edges.map((e) => metric(e.port, 'mqedge_broker_pending')))).every((p) => p === 0),
    { timeoutMs: 30000, what: 'edges with nothing pending for the broker' }).catch((e) => fail(e.message));
  await delay(3000);

  const reports = await Promise.all(workers.map((w) => {
    const r = w.expect('report', 120000);
    w.child.send({ cmd: 'report' });
    return r;
  }));
  // connections: the edges' gauges must come to what the clients hold (no stuck sessions) and the
  // descriptors to the connections plus the idle baseline (no leaked fd)
  const held = edges.map((_, k) => reports.reduce((a, r) => a + r.perEdge[k], 0));
  let final;
  await waitFor(async () => {
    final = await sample();
    return final.edges.every((e, k) => e.conns === held[k] && e.fds - e.conns <= baseline[k].fds + FD_TOLERANCE);
  }, { timeoutMs: 20000, intervalMs: 1000, what: 'gauges and fds to settle' }).catch(() => {});
  for (const [k, e] of final.edges.entries()) {
    if (e.conns !== held[k]) fail(`${e.id}: connections gauge ${e.conns}, clients hold ${held[k]} (stuck or lost sessions)`);
    if (e.fds - e.conns > baseline[k].fds + FD_TOLERANCE) {
      fail(`${e.id}: ${e.fds} fds for ${e.conns} connections: ${e.fds - e.conns} beyond them, idle baseline ${baseline[k].fds} (+${FD_TOLERANCE} allowed)`);
    }
  }
  return { reports, baseline, final, held, connectS, trafficEnd };
}

// ---------------------------------------------------------------------------------------------------
// The verdict

function within(w, list, before = 0, after = 0) {
  return list.some((e) => w >= e.wallStart - before && w <= e.wallEnd + after);
}

function analyse({ reports, baseline, final, connectS, trafficEnd }) {
  const acc = new Map();
  for (const r of reports) for (const a of r.accounts) acc.set(a.user, a);
  const byRoom = new Map();
  for (const a of acc.values()) (byRoom.get(a.room) ?? byRoom.set(a.room, []).get(a.room)).push(a);
  const res = { room: {}, dm: {}, notify: {}, reconnect: {}, resumes: {}, closes: {} };

  // Room messages: every confirmed pub of every member reaches every member (history rooms: a member
  // that dropped gets the rest with its resume); an ambiguous one (no ok: the connection dropped)
  // at most once.
  let confirmed = 0;
  let ambiguous = 0;
  let expected = 0;
  let lost = 0;
  let outOfOrder = 0;
  let dups = 0;
  let offsetGaps = 0;
  let offsetDups = 0;
  const lostSamples = [];
  for (const members of byRoom.values()) {
    for (const s of members) {
      confirmed += s.pubN - s.pubAmbiguous.length;
      ambiguous += s.pubAmbiguous.length;
    }
    for (const r of members) {
      dups += r.roomDups;
      offsetGaps += r.offsetGaps;
      offsetDups += r.offsetDups;
      for (const s of members) {
        const amb = new Set(s.pubAmbiguous);
        const last = r.roomLast[s.user] ?? 0;
        const miss = new Set(r.roomMissing[s.user] ?? []);
        for (let n = 1; n <= s.pubN; n++) {
          if (amb.has(n)) continue;
          expected++;
          if (n > last || miss.has(n)) {
            lost++;
            if (lostSamples.length < 10) lostSamples.push(`${r.user} lacks ${s.user}#${n} (room ${r.room})`);
          }
        }
        if (last > s.pubN) fail(`${r.user} got ${s.user}#${last}, which was never sent`);
      }
      for (const [s, n] of r.roomLate) if (!acc.get(s)?.pubAmbiguous.includes(n)) outOfOrder++;
    }
  }
  Object.assign(res.room, { rooms: byRoom.size, confirmed, ambiguous, deliveries_owed: expected, lost, duplicates: dups, out_of_order: outOfOrder, offset_gaps: offsetGaps, offset_duplicates: offsetDups });
  if (lost) fail(`room messages: ${lost} of ${expected} owed deliveries lost; e.g. ${lostSamples.join('; ')}`);
  if (dups || outOfOrder) fail(`room messages: ${dups} duplicates, ${outOfOrder} out of order`);
  if (offsetGaps || offsetDups) fail(`room offsets: ${offsetGaps} skipped, ${offsetDups} repeated`);
  if (!confirmed) fail('no room message was confirmed: the soak measured nothing');

  // Direct messages are live-only (PROTOCOL section 5: an edge follows a user's direct topic while the
  // user has a connection there), so one is owed only to a recipient connected over the whole delivery:
  // from DM_MARGIN_MS before the send (its edge's subscription in place) until DM_MARGIN_MS after the ok,
  // on a connection not opened during a broker outage (its subscription would wait for the broker).
  const outages = events.filter((e) => e.what.startsWith('broker'));
  let dmConfirmed = 0;
  let dmOwed = 0;
  let dmLost = 0;
  let dmNotOwed = 0;
  let dmDups = 0;
  let dmOoo = 0;
  const dmLostSamples = [];
  for (const s of acc.values()) {
    const r = acc.get(s.dmTo);
    const last = r.dmLast[s.user] ?? 0;
    const miss = new Set(r.dmMissing[s.user] ?? []);
    for (const [n, tSend, tOk] of s.dmSent) {
      dmConfirmed++;
      const got = n <= last && !miss.has(n);
      const owed = r.intervals.some(([a, b]) => a <= tSend - DM_MARGIN_MS && (b === null || b >= tOk + DM_MARGIN_MS) && !within(a, outages, 0, DM_MARGIN_MS));
      if (owed) dmOwed++;
      if (!got) {
        if (owed) {
          dmLost++;
          if (dmLostSamples.length < 10) dmLostSamples.push(`${s.user}#${n} → ${r.user} (sent ${new Date(tSend).toISOString().slice(11, 23)}, ok +${tOk - tSend} ms)`);
        } else dmNotOwed++;
      }
    }
    if (last > s.dmN) fail(`${r.user} got direct ${s.user}#${last}, which was never sent`);
    dmDups += r.dmDups;
    for (const [from, n] of r.dmLate) if (!acc.get(from)?.dmAmbiguous.includes(n)) dmOoo++;
  }
  Object.assign(res.dm, { confirmed: dmConfirmed, owed: dmOwed, lost: dmLost, missed_while_recipient_away: dmNotOwed, duplicates: dmDups, out_of_order: dmOoo });
  if (dmLost) fail(`direct messages: ${dmLost} of ${dmOwed} owed lost; e.g. ${dmLostSamples.join('; ')}`);
  if (dmDups || dmOoo) fail(`direct messages: ${dmDups} duplicates, ${dmOoo} out of order`);

  // Notifications (PROTOCOL section 7): every one the API accepted (201) reaches its user (live, or in
  // the backlog of the next connection); none twice on one connection; none again on a later
  // connection once the client's read of it was acknowledged, except while the read mark travels to
  // the other edge (READ_PROPAGATION_MS, longer across a broker restart or edge kill: counted apart).
  const disruptions = events;
  let nLost = 0;
  let nSameConn = 0;
  let nAfterRead = 0;
  let nAgainTolerated = 0;
  let nAgainUnread = 0;
  const nSamples = [];
  for (const [n, user] of notes.confirmed) {
    const r = acc.get(user)?.notes[`soak-${n}`];
    if (!r) {
      nLost++;
      if (nSamples.length < 10) nSamples.push(`soak-${n} → ${user}`);
    }
  }
  for (const a of acc.values()) {
    nSameConn += a.noteDupSameConn;
    for (const [id, r] of Object.entries(a.notes)) {
      for (const t of r.times.slice(1)) {
        if (r.readOk === null || r.readOk > t) nAgainUnread++;
        else if (t - r.readOk <= READ_PROPAGATION_MS || within(r.readOk, disruptions, 1000, READ_PROPAGATION_MS)) nAgainTolerated++;
        else {
          nAfterRead++;
          if (nSamples.length < 10) nSamples.push(`${id} to ${a.user} again ${t - r.readOk} ms after its read was acknowledged`);
        }
      }
    }
  }
  Object.assign(res.notify, { sent: notes.sent, confirmed: notes.confirmed.size, not_confirmed: notes.given, api_retries: notes.retries, lost: nLost,
    duplicates_same_connection: nSameConn, again_after_read: nAfterRead, again_read_in_flight: nAgainTolerated, again_unread: nAgainUnread });
  if (nLost) fail(`notifications: ${nLost} of ${notes.confirmed.size} lost; ${nSamples.join('; ')}`);
  if (nSameConn || nAfterRead) fail(`notifications: ${nSameConn} twice on one connection, ${nAfterRead} again after their read was acknowledged; ${nSamples.join('; ')}`);
  if (notes.given) fail(`notifications: ${notes.given} never accepted by the API`);

  // Resumes, reconnects, closes, error frames
  const rec = { true: 0, false: 0, reasons: {} };
  const rms = { churn: [], edge: [] };
  const unexpected = [];
  let errorFrames = 0;
  let unavailable = 0;
  let churned = 0;
  const errs = [];
  for (const r of reports) {
    rec.true += r.recovered.true;
    rec.false += r.recovered.false;
    for (const [k, v] of Object.entries(r.recovered.reasons)) rec.reasons[k] = (rec.reasons[k] ?? 0) + v;
    rms.churn.push(...r.reconnectMs.churn);
    rms.edge.push(...r.reconnectMs.edge);
    unexpected.push(...r.unexpected);
    errorFrames += r.errorFrames;
    unavailable += r.unavailable;
    churned += r.churned;
    errs.push(...r.errors);
  }
  res.resumes = rec;
  if (rec.false) fail(`${rec.false} resumes answered recovered:false (${JSON.stringify(rec.reasons)}); ${errs.filter((e) => e.includes('resume')).slice(0, 3).join('; ')}`);
  const dist = (xs) => ({ count: xs.length, p50_ms: round(quantile(xs, 0.5)), p99_ms: round(quantile(xs, 0.99)), max_ms: round(xs.length ? Math.max(...xs) : null) });
  res.reconnect = { churn: dist(rms.churn), edge_kill: dist(rms.edge), churned };
  const kill = events.find((e) => e.what.startsWith('edge'));
  const expectedCloses = unexpected.filter(([w, edge]) => edge === 1 && w >= kill.wallStart - 100 && w <= kill.wallStart + 3000);
  const otherCloses = unexpected.filter((u) => !expectedCloses.includes(u));
  res.closes = { by_edge_kill: expectedCloses.length, unexpected: otherCloses.length, codes: Object.fromEntries([...new Set(otherCloses.map((u) => u[2]))].map((c) => [c, otherCloses.filter((u) => u[2] === c).length])) };
  if (otherCloses.length) fail(`${otherCloses.length} connections closed by the edges outside the edge kill: codes ${JSON.stringify(res.closes.codes)}; first at t=${tSec(otherCloses[0][0])} s on e${otherCloses[0][1] + 1}`);
  if (!expectedCloses.length) fail('no client saw the edge kill: the event did not happen as designed');
  if (errorFrames) fail(`${errorFrames} error frames; ${errs.filter((e) => e.includes('error')).slice(0, 3).join('; ')}`);
  res.errors = errs.slice(0, 20);
  res.unavailable_replies = unavailable;

  // RSS must flatten: per edge process (the killed edge has two), over its samples after warm-up
  // (the history windows fill within HISTORY_S, the dedup table and allocator arenas early), the median
  // of the last third may exceed that of the middle third by at most 5 % + 8 MiB. A leak of a few
  // hundred bytes per reconnect or per message would move it by more over a ten-minute run.
  const warm = Math.max(1.5 * HISTORY_S, 0.15 * SECONDS);
  res.rss = [];
  for (const [k, e] of edges.entries()) {
    for (let inst = 1; inst <= edgeInstance[k]; inst++) {
      const pts = samples.filter((s) => s.edges[k].instance === inst && s.edges[k].rss && s.t !== null && s.t <= SECONDS).map((s) => ({ t: s.t, rss: s.edges[k].rss }));
      if (!pts.length) continue;
      const start = inst === 1 ? 0 : pts[0].t;
      const steady = pts.filter((p) => p.t >= start + warm);
      const span = steady.length ? steady.at(-1).t - steady[0].t : 0;
      const entry = { edge: e.id, instance: inst, from_s: start, samples: pts.length, first_mib: round(pts[0].rss / 2 ** 20), peak_mib: round(Math.max(...pts.map((p) => p.rss)) / 2 ** 20), last_mib: round(pts.at(-1).rss / 2 ** 20) };
      if (span >= Math.min(60, 0.4 * SECONDS) && steady.length >= 9) {
        const third = Math.floor(steady.length / 3);
        const med = (xs) => quantile(xs.map((p) => p.rss), 0.5);
        const mid = med(steady.slice(third, 2 * third));
        const last = med(steady.slice(2 * third));
        const allowed = mid * RSS_TOLERANCE.ratio + RSS_TOLERANCE.bytes;
        Object.assign(entry, { middle_third_mib: round(mid / 2 ** 20), last_third_mib: round(last / 2 ** 20), growth_mib: round((last - mid) / 2 ** 20), allowed_mib: round(allowed / 2 ** 20) });
        // under AddressSanitizer freed memory waits in its quarantine (256 MiB by default), so RSS
        // climbs by design there; its LeakSanitizer checks leaks at the edges' exit instead
        if (SANITIZED) entry.verdict = 'not judged: AddressSanitizer build (quarantine); LeakSanitizer checks at exit';
        else if (last - mid > allowed) fail(`${e.id}#${inst}: RSS climbs: median ${entry.middle_third_mib} MiB in the middle third after warm-up, ${entry.last_third_mib} MiB in the last (allowed +${entry.allowed_mib} MiB)`);
      } else entry.verdict = `not judged: ${round(span)} s of samples after warm-up`;
      res.rss.push(entry);
    }
  }
  if (!SANITIZED && !res.rss.some((r) => r.growth_mib !== undefined)) fail('RSS: no edge process ran long enough after warm-up to be judged');
  res.fds = final.edges.map((e, k) => ({ edge: e.id, idle_fds: baseline[k].fds, final_fds: e.fds, final_conns: e.conns, beyond_conns: e.fds - e.conns,
    max_fds: Math.max(...samples.filter((s) => s.edges[k].fds).map((s) => s.edges[k].fds)) }));
  // CPU over the traffic, from the samples (each process instance's own deltas)
  const busy = (get) => {
    let cpu = 0;
    for (let i = 1; i < samples.length; i++) {
      const a = get(samples[i - 1]);
      const b = get(samples[i]);
      if (a && b && a.pid === b.pid && samples[i].t <= SECONDS && b.cpu >= a.cpu) cpu += b.cpu - a.cpu;
    }
    return round((cpu / SECONDS) * 100);
  };
  res.cpu_percent = { ...Object.fromEntries(edges.map((e, k) => [e.id, busy((s) => s.edges[k])])), broker: busy((s) => s.broker && { ...s.broker, pid: 0 }),
    drivers: round((samples.at(-1).workersCpu - samples[0].workersCpu) / SECONDS * 100) };
  res.connect_s = round(connectS);
  res.traffic_s = round((trafficEnd - trafficWall) / 1000);
  return res;
}

function writeReport(res) {
  const params = { seconds: SECONDS, ws: N_WS, wss: N_WSS, room_size: ROOM_SIZE, pub_interval_s: PUB_MS / 1000, dm_interval_s: DM_MS / 1000,
    notify_rate: NOTIFY_RATE, churn_per_s: CHURN, history: HISTORY, workers: WORKERS, sample_s: SAMPLE_MS / 1000,
    edge: env.edges[0]?.proc.cmdline.split(' ')[0], asan: SANITIZED,
    machine: { cpus: os.cpus().length, mem_gib: round(os.totalmem() / 2 ** 30), kernel: os.release() } };
  const report = { params, events, result: res, failures, samples, wall_s: round((Date.now() - t0Wall) / 1000) };
  writeFileSync(join(OUT, 'report.json'), JSON.stringify(report, null, 1));
  const lines = [];
  lines.push(`soak: ${N_WS} ws + ${N_WSS} wss for ${SECONDS} s; ${failures.length ? `FAILED (${failures.length})` : 'PASSED'}; wall ${report.wall_s} s`);
  for (const ev of events) lines.push(`event t=${ev.t}s ${ev.what} (${round((ev.wallEnd - ev.wallStart) / 1000, 1)} s)`);
  if (res) {
    lines.push('');
    lines.push('  t(s)  clients | ' + edges.map((e) => `${e.id}: RSS MiB   fds  conns CPU%`).join(' | ') + ' | broker RSS MiB');
    const step = Math.max(1, Math.round(samples.length / 20));
    let prev = null;
    for (let i = 0; i < samples.length; i += step) {
      const s = samples[i];
      const cols = s.edges.map((e, k) => {
        const p = prev?.edges[k];
        const c = p && p.cpu !== undefined && e.cpu !== undefined && p.instance === e.instance ? round(((e.cpu - p.cpu) / (s.t - prev.t)) * 100, 0) : '';
        return `${String(e.id + '#' + e.instance).padEnd(4)} ${String(round((e.rss ?? 0) / 2 ** 20)).padStart(7)} ${String(e.fds ?? '').padStart(5)} ${String(e.conns).padStart(6)} ${String(c).padStart(4)}`;
      });
      lines.push(`${String(s.t).padStart(6)} ${String(s.clients).padStart(8)} | ${cols.join(' | ')} | ${round((s.broker?.rss ?? 0) / 2 ** 20)}`);
      prev = s;
    }
    lines.push('');
    lines.push(`room: ${JSON.stringify(res.room)}`);
    lines.push(`direct: ${JSON.stringify(res.dm)}`);
    lines.push(`notify: ${JSON.stringify(res.notify)}`);
    lines.push(`resumes: ${JSON.stringify(res.resumes)}; closes: ${JSON.stringify(res.closes)}; unavailable replies: ${res.unavailable_replies}`);
    lines.push(`reconnect (drop → resume ok): churn ${JSON.stringify(res.reconnect.churn)}; edge kill ${JSON.stringify(res.reconnect.edge_kill)}`);
    for (const r of res.rss) lines.push(`rss ${JSON.stringify(r)}`);
    for (const f of res.fds) lines.push(`fds ${JSON.stringify(f)}`);
    lines.push(`cpu % over the traffic (edges, broker): ${JSON.stringify(res.cpu_percent)}; connect phase ${res.connect_s} s`);
  }
  for (const f of failures) lines.push(`FAIL: ${f}`);
  writeFileSync(join(OUT, 'report.txt'), lines.join('\n') + '\n');
  process.stdout.write(lines.join('\n') + '\n');
}

// ---------------------------------------------------------------------------------------------------

let finished = false;
async function shutdown() {
  stopping = true;
  for (const w of workers) {
    try {
      w.child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  const problems = await env.teardown().catch((e) => [`teardown failed: ${e.message}`]);
  for (const p of problems) fail(`server: ${p}`);
  // the servers' logs (the harness keeps their last lines) go next to the report
  for (const p of [...env.brokers, ...env.edges]) writeFileSync(join(OUT, `${p.name}.log`), p.proc.text() + '\n');
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (finished) return;
    finished = true;
    log(`${sig}: stopping everything`);
    fail(`interrupted by ${sig}`);
    shutdown().finally(() => {
      writeReport(null); // the samples so far
      process.exit(130);
    });
  });
}

let res = null;
try {
  const r = await run();
  res = analyse(r);
} catch (e) {
  fail(`run aborted: ${e.stack ?? e}`);
} finally {
  if (!finished) {
    finished = true;
    await shutdown();
    if (failures.length) {
      for (const p of [...env.brokers, ...env.edges]) process.stderr.write(`-------- ${p.name}: last lines (all in ${OUT}/${p.name}.log)\n${p.proc.lines.slice(-40).join('\n')}\n`);
    }
    writeReport(res);
    process.exit(failures.length ? 1 : 0);
  }
}
