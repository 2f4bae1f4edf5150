// Integration harness for mqedge: real mosquitto + real edges (build/bin/mqedge) on free 127.0.0.1 ports,
// real clients (npm ws / mqtt). Every test runs inside scenario(), which gives it an Env that owns every
// process, socket and temp dir the test starts, tears them all down in `finally` (also on failure), and
// prints the servers' logs when the test fails. Nothing here waits with a fixed sleep for readiness:
// brokers are ready when an MQTT CONNECT succeeds, edges when GET /readyz answers 200.
//
// Env vars:
//   MQEDGE_BIN          edge binary (default <repo>/build/bin/mqedge)
//   MOSQUITTO_BIN       broker binary (default: `mosquitto` from PATH, else /usr/sbin/mosquitto)
//   MQEDGE_TEST_LOGS=1  print server logs for passing tests too
//   MQEDGE_KEEP_TMP=1   keep each test's temp dir (configs, logs, data dirs)
//   CI                  when set, a missing edge binary fails the suite instead of skipping it
import { test } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync, appendFileSync, accessSync, constants as fsc } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, delimiter } from 'node:path';
import net from 'node:net';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { REPO_ROOT, checkHttpError } from './schemas.mjs';
import { signJwt, userClaims, makeKeyPair, nowSec } from './jwt.mjs';
import { openWs, Client, uniqueRef } from './client.mjs';
import { RawWs, OP } from './rawws.mjs';
import { MqttPeer } from './mqttc.mjs';

export { signJwt, userClaims, makeKeyPair, nowSec, RawWs, OP, MqttPeer, Client, uniqueRef, openWs };
export { assertEdgeFrame, assertClientFrame, assertEnvelope, assertEdgeStatus, assertHttpError, checkEdgeFrame, checkEnvelope, checkEdgeStatus } from './schemas.mjs';

export const PREFIX = 'mqedge/v1';
export const topics = {
  room: (r) => `${PREFIX}/room/${r}`,
  direct: (u) => `${PREFIX}/user/${u}/direct`,
  telemetry: (d) => `${PREFIX}/device/${d}/telemetry`,
  cmd: (d) => `${PREFIX}/device/${d}/cmd`,
  status: (e) => `${PREFIX}/edge/${e}/status`,
  // the inbox (PROTOCOL.md section 7)
  notify: (u) => `${PREFIX}/user/${u}/notify`,
  notifyAll: () => `${PREFIX}/notify/all`,
  read: (u) => `${PREFIX}/user/${u}/read`,
  settings: (u) => `${PREFIX}/user/${u}/settings`,
};

export const MQEDGE_BIN = process.env.MQEDGE_BIN || join(REPO_ROOT, 'build', 'bin', 'mqedge');
export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN || findOnPath('mosquitto') || '/usr/sbin/mosquitto';

function findOnPath(name) {
  for (const d of (process.env.PATH || '').split(delimiter).concat(['/usr/sbin', '/usr/local/sbin'])) {
    const p = join(d, name);
    try {
      accessSync(p, fsc.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

export function edgeBinaryMissing() {
  try {
    accessSync(MQEDGE_BIN, fsc.X_OK);
    return null;
  } catch {
    return `mqedge binary not found or not executable at ${MQEDGE_BIN} (build it, or set MQEDGE_BIN)`;
  }
}

// A self-signed P-256 certificate for 127.0.0.1 in dir: { key, crt } (file paths).
export function selfSignedCert(dir, cn) {
  const key = join(dir, `${cn}.key`);
  const crt = join(dir, `${cn}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', crt], { stdio: 'ignore' });
  return { key, crt };
}

export const delay = (ms) => new Promise((r) => setTimeout(r, ms));

// Runs the edge binary to its exit (start-up refusals, --check-config, --help): resolves
// { code, signal, out } (stdout and stderr together). It sees none of the caller's MQEDGE_*
// variables, only env's.
export function runEdgeToExit(args, { env = {}, timeoutMs = 10000 } = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MQEDGE_')));
  return new Promise((resolve, reject) => {
    const child = spawn(MQEDGE_BIN, args, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mqedge ${args.join(' ')} did not exit within ${timeoutMs} ms; output: ${out}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

// Polls fn() until it returns a truthy value; rejects after timeoutMs with the last error/value.
export async function waitFor(fn, { timeoutMs = 10000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await delay(intervalMs);
  }
}

// A free TCP port on 127.0.0.1 (the kernel picks it; a bind race is handled by retrying the start).
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// GET http://host:port/path (host: 127.0.0.1 unless given) → { status, body (text), json } ; rejects on
// connection errors.
export function httpGet(port, path, { timeoutMs = 2000, headers = {}, host = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, agent: false, timeout: timeoutMs, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, body, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------------
// Child processes with captured output.

const liveProcs = new Set();
process.on('exit', () => {
  for (const p of liveProcs) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
});

// A child process with its output kept (and written to logFile); used for every server a test starts.
export class Proc {
  constructor(name, logFile) {
    this.name = name;
    this.logFile = logFile;
    this.lines = [];
    this.child = null;
    this.exit = null; // { code, signal }
    this._exitWaiters = [];
    this.problems = []; // crashes, sanitizer reports, unclean shutdowns: fail the test at teardown
    this.starting = false;
  }

  // opts: spawn's options, plus netns: run the command in that network namespace (`ip netns exec NS cmd`,
  // which execs the command itself: the child's pid is the server's, and signals reach it directly).
  start(cmd, args, { netns, ...opts } = {}) {
    this.exit = null;
    this.signalled = null;
    if (netns) [cmd, args] = ['ip', ['netns', 'exec', netns, cmd, ...args]];
    this.cmdline = [cmd, ...args].join(' ');
    this._log(`---- start: ${this.cmdline}`);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.child = child;
    liveProcs.add(child);
    const pipe = (stream, tag) => {
      let partial = '';
      stream.on('data', (d) => {
        partial += d.toString('utf8');
        const parts = partial.split('\n');
        partial = parts.pop();
        for (const l of parts) this._log(`${tag} ${l}`);
      });
      stream.on('end', () => partial && this._log(`${tag} ${partial}`));
    };
    pipe(child.stdout, '[out]');
    pipe(child.stderr, '[err]');
    child.on('error', (e) => this._log(`---- spawn error: ${e.message}`));
    child.on('exit', (code, signal) => {
      liveProcs.delete(child);
      this.exit = { code, signal };
      this._log(`---- exited code=${code} signal=${signal}`);
      if (!this.signalled && !this.starting) this.problems.push(`${this.name} exited on its own (code=${code} signal=${signal})`);
      for (const w of this._exitWaiters.splice(0)) w(this.exit);
    });
    return child;
  }

  _log(line) {
    const l = `${new Date().toISOString().slice(11, 23)} ${line}`;
    this.lines.push(l);
    if (this.lines.length > 20000) this.lines.splice(0, this.lines.length - 20000);
    if (this.logFile) {
      try {
        appendFileSync(this.logFile, l + '\n');
      } catch {
        /* tmp dir gone */
      }
    }
  }

  get running() {
    return this.child && !this.exit;
  }

  get pid() {
    return this.child?.pid;
  }

  text() {
    return this.lines.join('\n');
  }

  // Only what the process itself printed (no harness markers such as the command line).
  output() {
    return this.lines.filter((l) => / \[(out|err)\] /.test(l)).join('\n');
  }

  waitExit(timeoutMs = 10000) {
    if (!this.child || this.exit) return Promise.resolve(this.exit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not exit within ${timeoutMs} ms`)), timeoutMs);
      this._exitWaiters.push((e) => {
        clearTimeout(timer);
        resolve(e);
      });
    });
  }

  signal(sig) {
    if (this.running) {
      this.signalled = sig;
      this.child.kill(sig);
    }
  }

  // SIGTERM, then SIGKILL if it lingers. Always resolves. With strict, a lingering process or a non-zero
  // exit status is recorded as a problem (a clean shutdown is part of the contract: close 1001, status
  // offline; sanitizer builds report leaks at exit).
  async stop(graceMs = 10000, { strict = false } = {}) {
    if (!this.running) return this.exit;
    this.signal('SIGTERM');
    try {
      const e = await this.waitExit(graceMs);
      if (strict && (e.code !== 0 || e.signal)) this.problems.push(`${this.name} exited with code=${e.code} signal=${e.signal} after SIGTERM`);
      return e;
    } catch {
      this._log(`---- did not exit ${graceMs} ms after SIGTERM: SIGKILL`);
      if (strict) this.problems.push(`${this.name} did not exit within ${graceMs} ms of SIGTERM`);
      this.signal('SIGKILL');
      return this.waitExit(5000).catch(() => null);
    }
  }

  // Sanitizer and crash reports anywhere in the output.
  sanitizerReports() {
    return this.lines.filter((l) => /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer/.test(l));
  }
}

// ---------------------------------------------------------------------------------------------------
// Broker

export class Broker {
  // opts: { saveEveryChange (default true: a SIGKILL loses as little as possible; benchmarks turn it
  //         off, as production configs do), extra: [more mosquitto.conf lines], host (listener address,
  //         default 127.0.0.1), port (default: a free one), netns (run inside that network namespace) }
  constructor(env, name = 'broker', opts = {}) {
    this.env = env;
    this.name = name;
    this.opts = opts;
    this.dir = join(env.tmp, name);
    mkdirSync(this.dir, { recursive: true });
    this.proc = new Proc(name, join(env.tmp, `${name}.log`));
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? null;
  }

  // HOST:PORT, as an edge's --broker takes it
  get address() {
    return `${this.host}:${this.port}`;
  }

  _writeConfig() {
    this.confFile = join(this.dir, 'mosquitto.conf');
    writeFileSync(
      this.confFile,
      [
        `listener ${this.port} ${this.host}`,
        'allow_anonymous true',
        // Started as root, mosquitto would drop to user `mosquitto`, which cannot write the 0700 temp
        // dir; as a non-root user this line has no effect.
        'user root',
        'persistence true',
        `persistence_location ${this.dir}/`,
        'persistence_file mosquitto.db',
        // Save on every change, so a SIGKILL loses as little as possible (subscriptions of persistent
        // sessions, queued QoS 1 messages).
        ...(this.opts.saveEveryChange === false ? ['autosave_interval 30'] : ['autosave_on_changes true', 'autosave_interval 1']),
        ...(this.opts.extra ?? []),
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'log_type information',
        'log_type subscribe',
        'log_type unsubscribe',
        'connection_messages true',
        'log_timestamp true',
        'log_timestamp_format %H:%M:%S',
        '',
      ].join('\n'),
    );
  }

  // Starts on a free port (or the given one). Resolves once an MQTT CONNECT succeeds.
  async start({ port, timeoutMs = 10000 } = {}) {
    for (let attempt = 1; ; attempt++) {
      this.port = port ?? this.opts.port ?? (await freePort());
      this._writeConfig();
      this.proc.starting = true;
      this.proc.start(MOSQUITTO_BIN, ['-c', this.confFile], { netns: this.opts.netns });
      try {
        await this._waitReady(timeoutMs);
        this.proc.starting = false;
        return this;
      } catch (e) {
        this.proc.starting = false;
        const bindFail = /address already in use/i.test(this.proc.output());
        await this.proc.stop(2000);
        if (bindFail && attempt < 5) {
          if (port) await delay(200 * attempt); // same port: give the kernel a moment, bounded
          continue;
        }
        throw new Error(`${this.name} did not become ready on port ${this.port}: ${e.message}`);
      }
    }
  }

  async _waitReady(timeoutMs) {
    await waitFor(
      async () => {
        if (this.proc.exit) throw Object.assign(new Error(`${this.name} exited ${JSON.stringify(this.proc.exit)}`), { fatal: true });
        const c = await mqtt.connectAsync(`mqtt://${this.host}:${this.port}`, {
          clientId: `ready-${randomBytes(4).toString('hex')}`,
          reconnectPeriod: 0,
          connectTimeout: 1000,
        });
        await c.endAsync(true);
        return true;
      },
      { timeoutMs, intervalMs: 50, what: `${this.name} MQTT CONNECT` },
    ).catch((e) => {
      throw this.proc.exit ? new Error(`${this.name} exited early ${JSON.stringify(this.proc.exit)}`) : e;
    });
  }

  // SIGKILL (default) or another signal; waits for the process to be gone.
  async kill(signal = 'SIGKILL') {
    this.proc.signal(signal);
    await this.proc.waitExit(10000);
  }

  // Starts again on the same port with the same persistence directory.
  async restart(opts = {}) {
    if (this.proc.running) await this.kill('SIGKILL');
    return this.start({ ...opts, port: this.port });
  }

  async stop() {
    await this.proc.stop();
  }

  // Broker log lines (subscribe lines look like "<time>: <clientid> <qos> <topic>").
  log() {
    return this.proc.text();
  }
}

// ---------------------------------------------------------------------------------------------------
// Edge

export class Edge {
  // opts: { id, broker, extra: [...flags], jwt: { alg, publicKeyFile } | undefined (HS256 with env.secret),
  //         secret (null: no --jwt-secret flag), logLevel, env: { MQEDGE_X: value }, host (--bind address,
  //         default 127.0.0.1), port (default: a free one), netns (run inside that network namespace),
  //         brokers: [Broker, ..] (--broker gets them all, comma-separated, instead of broker's alone) }.
  //         The edge sees none of the caller's MQEDGE_* variables (they would configure it), only opts.env's.
  constructor(env, opts) {
    this.env = env;
    this.opts = opts;
    this.id = opts.id;
    this.name = `edge-${opts.id}`;
    this.dataDir = opts.dataDir ?? join(env.tmp, `${this.name}-data`);
    mkdirSync(this.dataDir, { recursive: true });
    this.proc = new Proc(this.name, join(env.tmp, `${this.name}.log`));
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? null;
  }

  get url() {
    return `ws://${this.host}:${this.port}/ws`;
  }

  args() {
    const o = this.opts;
    const brokers = (o.brokers ?? [o.broker]).map((b) => b.address).join(',');
    const a = ['--bind', this.host, '--port', String(this.port), '--broker', brokers, '--edge-id', o.id];
    if (o.jwt) a.push('--jwt-alg', o.jwt.alg, '--jwt-public-key', o.jwt.publicKeyFile);
    else if (o.secret !== null) a.push('--jwt-secret', o.secret ?? this.env.secret);
    a.push('--data-dir', this.dataDir, '--log-level', o.logLevel ?? 'info', ...(o.extra ?? []));
    return a;
  }

  environment() {
    const e = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MQEDGE_')));
    return { ...e, ...(this.opts.env ?? {}) };
  }

  // Starts the edge and resolves once /readyz answers 200 (broker session up).
  async start({ port, timeoutMs = 15000, waitReady = true } = {}) {
    for (let attempt = 1; ; attempt++) {
      this.port = port ?? this.port ?? (await freePort());
      this.proc.starting = true;
      this.proc.start(MQEDGE_BIN, this.args(), { env: this.environment(), netns: this.opts.netns });
      try {
        if (waitReady) await this.waitReady(timeoutMs);
        else await this.waitAlive(timeoutMs);
        this.proc.starting = false;
        return this;
      } catch (e) {
        this.proc.starting = false;
        const exited = this.proc.exit;
        await this.proc.stop(2000);
        if (exited && /in use|EADDRINUSE/i.test(this.proc.output()) && attempt < 4 && !port) {
          this.port = null;
          continue;
        }
        throw new Error(`${this.name} did not become ready on port ${this.port}: ${e.message}`);
      }
    }
  }

  async _waitHttp(path, wantStatus, timeoutMs, what) {
    await waitFor(
      async () => {
        if (this.proc.exit) throw Object.assign(new Error(`${this.name} exited ${JSON.stringify(this.proc.exit)}`), { exited: true });
        const r = await httpGet(this.port, path, { timeoutMs: 1000, host: this.host });
        return r.status === wantStatus ? r : null;
      },
      { timeoutMs, intervalMs: 50, what },
    ).catch((e) => {
      if (this.proc.exit) throw new Error(`${this.name} exited ${JSON.stringify(this.proc.exit)}`);
      throw e;
    });
  }

  waitReady(timeoutMs = 15000) {
    return this._waitHttp('/readyz', 200, timeoutMs, `${this.name} GET /readyz = 200`);
  }

  waitAlive(timeoutMs = 15000) {
    return this._waitHttp('/healthz', 200, timeoutMs, `${this.name} GET /healthz = 200`);
  }

  // Resolves once /readyz answers something other than 200 (broker session down) while the process lives.
  async waitNotReady(timeoutMs = 10000) {
    await waitFor(
      async () => {
        if (this.proc.exit) throw new Error(`${this.name} exited ${JSON.stringify(this.proc.exit)}`);
        const r = await httpGet(this.port, '/readyz', { timeoutMs: 1000, host: this.host });
        return r.status !== 200;
      },
      { timeoutMs, intervalMs: 50, what: `${this.name} GET /readyz != 200` },
    );
  }

  healthz() {
    return httpGet(this.port, '/healthz', { host: this.host });
  }

  readyz() {
    return httpGet(this.port, '/readyz', { host: this.host });
  }

  async kill(signal = 'SIGKILL', timeoutMs = 10000) {
    this.proc.signal(signal);
    return this.proc.waitExit(timeoutMs);
  }

  // Starts again on the same port and data dir.
  async restart(opts = {}) {
    if (this.proc.running) await this.kill('SIGKILL');
    return this.start({ ...opts, port: this.port });
  }

  async stop() {
    await this.proc.stop(10000, { strict: true });
  }

  log() {
    return this.proc.text();
  }
}

// ---------------------------------------------------------------------------------------------------
// Env: everything one test owns.

export class Env {
  constructor(t, name) {
    this.t = t;
    this.name = name;
    this.tmp = mkdtempSync(join(tmpdir(), 'mqedge-it-'));
    this.secret = `secret-${randomBytes(16).toString('hex')}`; // 39 bytes: not 'weak' (RFC 7518 3.2)
    this.brokers = [];
    this.edges = [];
    this.clients = [];
    this.raws = [];
    this.mqtts = [];
    this.cleanups = [];
    this.finalizers = [];
    this.violations = [];
    this.procs = []; // other processes of the test (e.g. an rpc worker): logs dumped, stopped at teardown
  }

  async startBroker(name = this.brokers.length ? `broker${this.brokers.length + 1}` : 'broker', opts = {}) {
    const b = new Broker(this, name, opts);
    this.brokers.push(b);
    await b.start();
    return b;
  }

  // Starts an edge. opts: { id = 'e<N>', broker (default first), extra: [], jwt, secret, waitReady, and
  // Edge's host, port, netns, brokers }.
  async startEdge(opts = {}) {
    const id = opts.id ?? `e${this.edges.length + 1}`;
    const broker = opts.broker ?? opts.brokers?.[0] ?? this.brokers[0];
    if (!broker) throw new Error('startEdge: start a broker first');
    const e = new Edge(this, { ...opts, id, broker });
    this.edges.push(e);
    await e.start({ waitReady: opts.waitReady ?? true });
    return e;
  }

  // Broker + N edges (ids e1..eN), each with the same extra flags.
  async cluster(n = 1, { extra = [], ...rest } = {}) {
    const broker = await this.startBroker();
    const edges = [];
    for (let i = 0; i < n; i++) edges.push(await this.startEdge({ id: `e${i + 1}`, broker, extra, ...rest }));
    return { broker, edges };
  }

  // HS256 token with the env secret. claimsOrSub: a user id (gets an hour of validity) or full claims.
  token(claimsOrSub, extra = {}, signOpts = {}) {
    const claims = typeof claimsOrSub === 'string' ? userClaims(claimsOrSub, extra) : claimsOrSub;
    return signJwt(claims, { alg: 'HS256', key: this.secret, ...signOpts });
  }

  // Opens a ws client and insists on the upgrade (welcome received). opts: { user, claims, token, via,
  // origin, protocols, headers, name }. With neither token nor claims nor user, connects without a token.
  async connect(edge, opts = {}) {
    const r = await this._open(edge, opts);
    if (!r.client) throw new Error(`${opts.name ?? opts.user ?? 'client'}: upgrade refused by ${edge.name}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return r.client;
  }

  // Opens a ws client expecting a refusal; resolves { status, body } (body checked against the
  // http-error schema). Fails if the upgrade succeeds.
  async connectRefused(edge, opts = {}) {
    const r = await this._open(edge, opts);
    if (r.client) {
      r.client.close();
      throw new Error(`${opts.name ?? 'client'}: expected the upgrade to be refused, but got welcome ${JSON.stringify(r.client.welcome)}`);
    }
    const bad = checkHttpError(r.body);
    if (bad) this.violations.push(`HTTP ${r.status} body from ${edge.name}: ${bad}; body: ${JSON.stringify(r.body)}`);
    return r;
  }

  async _open(edge, opts) {
    let { token } = opts;
    if (token === undefined && opts.claims) token = this.token(opts.claims);
    else if (token === undefined && opts.user) token = this.token(opts.user, opts.extra ?? {});
    const name = opts.name ?? opts.user ?? opts.claims?.sub ?? 'client';
    const path = opts.path ?? '/ws';
    const url = `ws://${edge.host}:${edge.port}${path}`;
    const r = await openWs(url, { ...opts, token, name: `${name}@${edge.id}` });
    if (r.client) this.clients.push(r.client);
    return r;
  }

  // Raw WebSocket client (for malformed frames, not answering pings, not reading).
  // autoClose / deflate: see RawWs.connect.
  async raw(edge, { token, user, extra = {}, autoPong = true, autoClose = false, deflate = false, path = '/ws', headers = {}, version } = {}) {
    if (token === undefined && user) token = this.token(user, extra);
    const p = token ? `${path}?token=${encodeURIComponent(token)}` : path;
    const c = await RawWs.connect({ port: edge.port, path: p, headers, autoPong, autoClose, deflate, version });
    this.raws.push(c);
    return c;
  }

  async mqtt(broker = this.brokers[0], opts = {}) {
    const m = await MqttPeer.connect(broker.port, { host: broker.host, ...opts });
    this.mqtts.push(m);
    return m;
  }

  // Publishes probes (bare JSON {"__probe":tag,"n":n}) to `topic` over MQTT every intervalMs until every
  // client has received one, then makes each client drop probes from then on. This waits for the edges'
  // broker subscriptions to be in place (the protocol does not say that `ok` for sub waits for SUBACK).
  async syncTopic(topic, clients, { broker = this.brokers[0], timeoutMs = 10000, intervalMs = 100 } = {}) {
    const tag = uniqueRef('probe');
    const isProbe = (f) => f && f.data && typeof f.data === 'object' && f.data.__probe === tag;
    for (const c of clients) c.ignore(isProbe);
    const pubr = await this.mqtt(broker, { name: 'probe' });
    let n = 0;
    const deadline = Date.now() + timeoutMs;
    try {
      while (!clients.every((c) => c.ignored.some(isProbe))) {
        if (Date.now() > deadline) {
          const missing = clients.filter((c) => !c.ignored.some(isProbe)).map((c) => c.name);
          throw new Error(`syncTopic(${topic}): no probe reached ${missing.join(', ')} within ${timeoutMs} ms`);
        }
        await pubr.pub(topic, { __probe: tag, n: n++ });
        await delay(intervalMs);
      }
    } finally {
      await pubr.end();
    }
  }

  // Checks all schema violations seen so far; throws with the list.
  assertNoViolations() {
    const all = [...this.violations];
    for (const c of this.clients) for (const v of c.violations) all.push(`${c.name}: ${v}`);
    if (all.length) throw new Error(`schema violations in frames received from the edge:\n  ${all.slice(0, 20).join('\n  ')}`);
  }

  onCleanup(fn) {
    this.cleanups.push(fn);
  }

  // fn runs at the very end of teardown, after every process the test started has stopped (e.g. to
  // remove the network namespaces they ran in).
  onFinally(fn) {
    this.finalizers.push(fn);
  }

  dumpLogs(reason, problems = []) {
    const out = [`\n======== ${this.name}: ${reason ? 'FAILED: ' + (reason.stack || reason) : 'logs'}`];
    if (problems.length) out.push(`-------- server problems:\n  ${problems.join('\n  ')}`);
    for (const p of [...this.brokers, ...this.edges, ...this.procs.map((proc) => ({ name: proc.name, port: '-', proc }))]) {
      const lines = p.proc.lines;
      out.push(`-------- ${p.name} (port ${p.port}) last ${Math.min(lines.length, 300)} of ${lines.length} lines --------`);
      out.push(...lines.slice(-300));
    }
    out.push(`-------- temp dir: ${this.tmp}${process.env.MQEDGE_KEEP_TMP ? '' : ' (removed; set MQEDGE_KEEP_TMP=1 to keep)'}`);
    process.stderr.write(out.join('\n') + '\n');
  }

  async teardown() {
    for (const fn of this.cleanups.reverse()) {
      try {
        await fn();
      } catch {
        /* best effort */
      }
    }
    for (const c of this.clients) c.terminate();
    for (const r of this.raws) r.destroy();
    await Promise.all(this.mqtts.map((m) => m.end()));
    await Promise.all(this.procs.map((p) => p.stop(5000)));
    await Promise.all(this.edges.map((e) => e.stop()));
    await Promise.all(this.brokers.map((b) => b.stop()));
    const problems = [];
    for (const fn of this.finalizers.reverse()) {
      try {
        await fn();
      } catch (e) {
        problems.push(`teardown: ${e.message}`);
      }
    }
    if (!process.env.MQEDGE_KEEP_TMP) rmSync(this.tmp, { recursive: true, force: true });
    for (const p of [...this.edges, ...this.brokers]) {
      problems.push(...p.proc.problems);
      const san = p.proc.sanitizerReports();
      if (san.length) problems.push(`${p.name} sanitizer report:\n    ${san.slice(0, 10).join('\n    ')}`);
    }
    return problems;
  }
}

// Declares one integration test. fn(env, t) runs with a fresh Env; teardown always runs; logs are
// printed on failure. opts: { timeout (ms, default 60000), needsEdge (default true), skip, todo (runs,
// reported, does not fail the run: known defects) }.
export function scenario(name, opts, fn) {
  if (typeof opts === 'function') [fn, opts] = [opts, {}];
  const needsEdge = opts.needsEdge ?? true;
  let skip = opts.skip ?? false;
  const missing = needsEdge ? edgeBinaryMissing() : null;
  if (missing && !skip) {
    if (process.env.CI) {
      // In CI a missing binary is a failure, not a silent skip.
      return test(name, { timeout: 5000 }, () => {
        throw new Error(missing);
      });
    }
    skip = missing;
  }
  const timeout = opts.timeout ?? 60000;
  return test(name, { timeout: timeout + 15000, skip, todo: opts.todo }, async (t) => {
    const env = new Env(t, name);
    let failed = null;
    let timer;
    // Our own deadline, before node:test's: on expiry the test fails *and* still tears everything down
    // (a node:test timeout alone would leave servers running and the file hanging).
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`scenario timed out after ${timeout} ms`)), timeout);
    });
    try {
      await Promise.race([fn(env, t), deadline]);
      env.assertNoViolations();
    } catch (e) {
      failed = e;
      throw e;
    } finally {
      clearTimeout(timer);
      // Stop everything first (edges get SIGTERM: a crash or sanitizer report at exit fails the test too).
      const problems = await env.teardown().catch((e) => [`teardown failed: ${e.message}`]);
      if (!failed && problems.length) failed = new Error(`server problems:\n  ${problems.join('\n  ')}`);
      if (failed || process.env.MQEDGE_TEST_LOGS) env.dumpLogs(failed, problems);
      if (failed && problems.length) throw failed;
    }
  });
}

// Counts of each value in arr, as a Map.
export function counts(arr) {
  const m = new Map();
  for (const x of arr) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}
