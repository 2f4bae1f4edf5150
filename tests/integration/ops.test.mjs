// What an operator relies on. /metrics is Prometheus text that a scraper parses, with every family the
// dashboards need, and its counters move with traffic. SIGTERM drains: clients get 1001, new
// connections are refused, the edge exits 0 within a bounded time. Info-level logs do not grow per
// message. permessage-deflate is negotiated when offered (and can be turned off). SIGHUP swaps the TLS
// certificate for new connections while established ones carry on.
import assert from 'node:assert/strict';
import { writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import WebSocket from 'ws';
import { scenario, httpGet, topics, waitFor } from './lib/harness.mjs';
import { selfSignedCert } from './lib/harness.mjs';

// Parses the text exposition format strictly enough to fail on anything a scraper would reject.
function parseMetrics(text) {
  const families = new Map();
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m;
    if ((m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line))) {
      const f = families.get(m[2]) ?? {};
      if (m[1] === 'TYPE') {
        assert.match(m[3], /^(counter|gauge|histogram|summary|untyped)$/, `TYPE of ${m[2]}`);
        f.type = m[3];
      } else f.help = m[3];
      families.set(m[2], f);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*)?\})? (-?[0-9.e+]+|\+Inf|NaN)$/.exec(line);
    assert.ok(m, `not a metrics line: ${JSON.stringify(line)}`);
    const labels = {};
    for (const kv of (m[3] ?? '').split(',').filter(Boolean)) {
      const [k, v] = kv.split('=');
      labels[k] = v.slice(1, -1);
    }
    samples.push({ name: m[1], labels, value: Number(m[5]) });
  }
  for (const s of samples) {
    const family = s.name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(families.has(s.name) || families.has(family), `sample ${s.name} has no TYPE/HELP`);
  }
  return { families, samples, get: (name, labels = {}) => samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value };
}

scenario('/metrics parses as Prometheus text and its counters follow the traffic', { timeout: 60000 }, async (env) => {
  const { edges: [edge] } = await env.cluster(1);
  const before = parseMetrics((await httpGet(edge.port, '/metrics')).body);
  for (const f of ['mqedge_connections', 'mqedge_frames_in_total', 'mqedge_frames_out_total', 'mqedge_deliveries_total',
    'mqedge_drops_total', 'mqedge_outq_bytes', 'mqedge_broker_reconnects_total', 'mqedge_inbox_rows',
    'mqedge_store_errors_total', 'mqedge_auth_failures_total', 'mqedge_fanout_latency_seconds']) {
    assert.ok(before.families.has(f), `family ${f}`);
  }
  assert.equal(before.families.get('mqedge_fanout_latency_seconds').type, 'histogram');

  const a = await env.connect(edge, { user: 'ann', extra: { rooms: ['ops'] } });
  const b = await env.connect(edge, { user: 'ben', extra: { rooms: ['ops'] } });
  await a.ok({ op: 'sub', room: 'ops' });
  await b.ok({ op: 'sub', room: 'ops' });
  for (let i = 0; i < 10; i++) await a.ok({ op: 'pub', room: 'ops', data: { i } });
  await b.until(() => b.roomMsgs('ops').length === 10, 5000, '10 messages');
  await env.connectRefused(edge, { token: 'not-a-token' });

  const after = parseMetrics((await httpGet(edge.port, '/metrics')).body);
  assert.equal(after.get('mqedge_connections', { kind: 'user' }), 2);
  assert.ok(after.get('mqedge_frames_in_total') >= 12, 'frames in');
  assert.ok(after.get('mqedge_deliveries_total') - before.get('mqedge_deliveries_total') >= 20, 'two members x ten messages');
  assert.ok(after.get('mqedge_auth_failures_total') >= 1, 'the bad token was counted');
  assert.equal(after.get('mqedge_broker_up'), 1);
  // the histogram is cumulative and its +Inf bucket equals its count
  const buckets = after.samples.filter((s) => s.name === 'mqedge_fanout_latency_seconds_bucket');
  assert.equal(buckets.at(-1).labels.le, '+Inf');
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, 'cumulative buckets');
  assert.equal(buckets.at(-1).value, after.get('mqedge_fanout_latency_seconds_count'));
  assert.ok(after.get('mqedge_fanout_latency_seconds_count') >= 20);
});

scenario('SIGTERM drains: 1001 to clients, no new connections, exit 0 in bounded time', { timeout: 60000 }, async (env) => {
  const { broker, edges: [edge] } = await env.cluster(1);
  const clients = [];
  for (let i = 0; i < 5; i++) clients.push(await env.connect(edge, { user: `u${i}` }));
  const watcher = await env.mqtt(broker, { name: 'status' });
  await watcher.sub(topics.status('e1'));
  await watcher.next((m) => m.json?.status === 'online', 5000, 'online');

  const t0 = Date.now();
  edge.proc.signal('SIGTERM');
  const closes = await Promise.all(clients.map((c) => c.waitClose(5000)));
  for (const c of closes) assert.equal(c.code, 1001, 'going away');
  // while it drains (or once gone) nobody new gets in
  const late = await new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${edge.port}/ws?token=${env.token('late')}`);
    ws.on('open', () => resolve('open'));
    ws.on('unexpected-response', (_, res) => resolve(`http ${res.statusCode}`));
    ws.on('error', (e) => resolve(`error ${e.code ?? e.message}`));
  });
  assert.notEqual(late, 'open', 'no new session during the drain');
  const exit = await edge.proc.waitExit(10000);
  assert.equal(exit.code, 0, `exit status ${JSON.stringify(exit)}`);
  assert.ok(Date.now() - t0 < 8000, `drained in ${Date.now() - t0} ms`);
  await watcher.next((m) => m.json?.status === 'offline', 5000, 'offline status');
  assert.match(edge.log(), /shutdown_complete/);
});

scenario('info logs do not grow with messages', { timeout: 60000 }, async (env) => {
  const { edges: [edge] } = await env.cluster(1);
  const a = await env.connect(edge, { user: 'chatty', extra: { rooms: ['*'] } });
  await a.ok({ op: 'sub', room: 'quiet' });
  const lines = edge.log().split('\n').length;
  for (let i = 0; i < 150; i++) a.send({ op: 'pub', room: 'quiet', data: i, ref: `p${i}` }); // within the burst
  await a.until(() => a.roomMsgs('quiet').length === 150, 10000, '150 messages');
  const grown = edge.log().split('\n').length - lines;
  assert.ok(grown < 5, `${grown} log lines for 150 messages`);
});

scenario('permessage-deflate is negotiated when offered, and can be turned off', { timeout: 60000 }, async (env) => {
  const broker = await env.startBroker();
  const on = await env.startEdge({ id: 'e1', broker });
  const off = await env.startEdge({ id: 'e2', broker, extra: ['--permessage-deflate', 'false'] });
  const open = (edge) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${edge.port}/ws?token=${env.token('zip', { rooms: ['z'] })}`, { perMessageDeflate: true });
    ws.on('message', (m) => {
      const f = JSON.parse(m);
      if (f.op === 'welcome') ws.send(JSON.stringify({ op: 'ping', ref: 'big', pad: 'x'.repeat(20000) }));
      if (f.op === 'pong') {
        resolve(ws.extensions);
        ws.close();
      }
    });
    ws.on('error', reject);
  });
  assert.match(await open(on), /permessage-deflate/, 'offered and accepted; compressed frames from the client are read');
  assert.equal(await open(off), '', 'not negotiated when disabled');
});

scenario('SIGHUP reloads the TLS certificate for new connections; established ones stay', { timeout: 60000 }, async (env) => {
  const cert = (cn) => selfSignedCert(env.tmp, cn);
  const first = cert('first');
  const second = cert('second');
  const live = { key: join(env.tmp, 'live.key'), crt: join(env.tmp, 'live.crt') };
  copyFileSync(first.key, live.key);
  copyFileSync(first.crt, live.crt);
  const broker = await env.startBroker();
  const tlsPort = await new Promise((r) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => r(p));
    });
  });
  const edge = await env.startEdge({ broker, extra: ['--tls-port', String(tlsPort), '--cert', live.crt, '--key', live.key] });
  const peerCn = () => new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: tlsPort, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      resolve(s.getPeerCertificate().subject.CN);
      s.end();
    });
    s.on('error', reject);
  });
  assert.equal(await peerCn(), 'first');
  const ws = new WebSocket(`wss://127.0.0.1:${tlsPort}/ws?token=${env.token('tls')}`, { rejectUnauthorized: false });
  const frames = [];
  ws.on('message', (m) => frames.push(JSON.parse(m)));
  await waitFor(() => frames.some((f) => f.op === 'welcome'), { what: 'wss welcome' });

  copyFileSync(second.key, live.key);
  copyFileSync(second.crt, live.crt);
  edge.proc.signal('SIGHUP');
  await waitFor(async () => (await peerCn()) === 'second', { timeoutMs: 10000, what: 'the new certificate' });
  ws.send(JSON.stringify({ op: 'ping', ref: 'after-hup' }));
  await waitFor(() => frames.some((f) => f.op === 'pong' && f.ref === 'after-hup'), { what: 'pong on the old connection' });
  ws.close();
  writeFileSync(join(env.tmp, 'done'), '');
});
