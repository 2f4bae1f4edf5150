// --workers N: a supervisor and N worker processes on one port (SO_REUSEPORT), each a full edge
// ("{edge-id}-w{k}") with one inbox file per host. Pinned here: connections land on both workers;
// room messages, direct messages and notifications reach every tab exactly once whichever worker
// it is on (notifications also while tabs connect during the stream: backlog and live pushes
// never overlap); one row per notification in the shared file; read marks reach tabs on the other
// worker; /metrics labels every sample with its worker and lists each family once; /readyz speaks
// for all workers; a SIGKILLed worker is restarted with backoff while the other one's clients keep
// receiving; SIGHUP reaches every worker (wss certificate reload); SIGTERM stops everything with
// exit 0; a taken port fails the start with exit 1.
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import WebSocket from 'ws';
import { scenario, topics, waitFor, delay, httpGet, counts, Edge, MQEDGE_BIN } from './lib/harness.mjs';
import { selfSignedCert } from './lib/harness.mjs';
import { waitInboxSubscribed, inboxAll, mailbox, untilNotified } from './lib/inbox.mjs';

const workerOf = (c) => Number(/-w(\d+)$/.exec(c.welcome.edge)[1]);
const msgs = (c, room) => c.all.filter((f) => f.op === 'msg' && f.room === room);

// The value of one sample (name + labels) in a Prometheus text, or undefined.
function sample(text, name, labels) {
  const want = `${name}{${labels}}`;
  const line = text.split('\n').find((l) => l.startsWith(want + ' '));
  return line === undefined ? undefined : Number(line.slice(want.length + 1));
}

// Connects until `want(clients)` holds (the kernel picks the worker per connection).
async function connectSpread(env, edge, user, n, extra = {}) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await env.connect(edge, { user, name: `${user}-${i}`, extra }));
  return out;
}

scenario('two workers on one port: rooms, direct messages and notifications exactly once on every tab, one inbox row each, merged /metrics and /readyz', { timeout: 120000 }, async (env) => {
  const broker = await env.startBroker();
  const edge = await env.startEdge({ id: 'h1', broker, extra: ['--workers', '2', '--max-conns-per-user', '64'] });

  // the harness saw 200 from one worker; the other's readiness reaches the board within a second
  const ready = await waitFor(async () => {
    const r = await edge.readyz();
    return r.status === 200 ? r : null;
  }, { timeoutMs: 5000, what: '/readyz 200 from whichever worker answers' });
  assert.deepEqual(ready.json, { status: 'ready', workers: 2 });

  // 24 connections: the kernel spreads them over both workers' sockets
  const extra = { rooms: ['lobby'] };
  const tabs = await connectSpread(env, edge, 'alice', 12, extra);
  const others = [];
  for (let i = 0; i < 12; i++) others.push(await env.connect(edge, { user: `u${i}`, extra }));
  const all = [...tabs, ...others];
  const perWorker = counts(all.map(workerOf));
  assert.deepEqual([...perWorker.keys()].sort(), [0, 1], `connections on both workers: ${JSON.stringify([...perWorker])}`);
  const aliceWorkers = new Set(tabs.map(workerOf));
  assert.equal(aliceWorkers.size, 2, 'alice has tabs on both workers');

  // rooms: 3 publishers x 20 messages, every member gets each once, in order per publisher
  for (const c of all) await c.ok({ op: 'sub', room: 'lobby' });
  await env.syncTopic(topics.room('lobby'), all);
  const publishers = [others[0], others[1], tabs[0]];
  const sent = new Map();
  await Promise.all(publishers.map(async (p) => {
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push((await p.ok({ op: 'pub', room: 'lobby', data: { from: p.name, i } })).id);
    sent.set(p.name, ids);
  }));
  for (const c of all) {
    await c.until(() => msgs(c, 'lobby').length >= 60, 15000, `${c.name}: 60 room messages`);
    await delay(0);
  }
  await delay(300);
  for (const c of all) {
    const got = msgs(c, 'lobby');
    assert.equal(got.length, 60, `${c.name}: exactly 60 (worker ${workerOf(c)})`);
    assert.equal(new Set(got.map((f) => f.id)).size, 60, `${c.name}: nothing twice`);
    for (const [name, ids] of sent) {
      const order = got.filter((f) => f.data.from === name).map((f) => f.id);
      assert.deepEqual(order, ids, `${c.name}: ${name}'s messages in publish order`);
    }
  }

  // direct: one send to alice reaches each of her 12 tabs once, on both workers
  const dm = await others[2].ok({ op: 'send', to: 'alice', data: { hi: 1 } });
  for (const t of tabs) await t.next((f) => f.op === 'msg' && f.id === dm.id, 10000, `${t.name}: the direct message`);
  await delay(300);
  for (const t of tabs) assert.equal(t.all.filter((f) => f.id === dm.id).length, 1, `${t.name}: direct message once`);

  // notifications: 60 published while 6 more tabs connect in the middle of the stream; every
  // tab (old and new, both workers) sees each one exactly once (backlog + live, no overlap)
  for (const k of [0, 1]) await waitInboxSubscribed(broker, { id: `h1-w${k}` });
  const backend = await env.mqtt(broker, { name: 'backend' });
  const ids = Array.from({ length: 60 }, (_, i) => `w-${i}`);
  const late = [];
  const publishing = (async () => {
    for (const [i, id] of ids.entries()) {
      await backend.pub(topics.notify('alice'), mailbox({ id, title: `n${i}` }));
      if (i % 10 === 5) late.push(await env.connect(edge, { user: 'alice', name: `alice-late-${i}` }));
    }
  })();
  await publishing;
  const everyTab = [...tabs, ...late];
  assert.equal(new Set(late.map(workerOf)).size >= 1, true);
  for (const t of everyTab) await untilNotified(t, ids, 20000);
  await delay(500);
  for (const t of everyTab) {
    const got = t.all.filter((f) => f.op === 'notify').map((f) => f.id);
    const dup = [...counts(got)].filter(([, n]) => n > 1);
    assert.deepEqual(dup, [], `${t.name} (worker ${workerOf(t)}): no notification twice`);
    assert.deepEqual([...got].sort(), [...ids].sort(), `${t.name}: all 60`);
  }
  // stored once: one row per notification in the host's file, whichever worker wrote it
  const page = await inboxAll(tabs[0]);
  assert.deepEqual(page.items.map((x) => x.id).sort(), [...ids].sort(), 'the inbox lists each notification once');
  assert.equal(page.unread, 60);
  // the other worker's figures on the board are up to a second old: wait, then pin the total
  const storedSum = async () => {
    const t = (await httpGet(edge.port, '/metrics')).body;
    return (sample(t, 'mqedge_inbox_stored_total', 'worker="0"') ?? 0) + (sample(t, 'mqedge_inbox_stored_total', 'worker="1"') ?? 0);
  };
  await waitFor(async () => (await storedSum()) >= 60, { timeoutMs: 5000, what: 'both workers report their inserts' });
  await delay(1200);
  assert.equal(await storedSum(), 60, 'one row inserted per notification across both workers');
  let text;

  // read on a tab of one worker: tabs on the other worker hear it, the count agrees everywhere
  const reader = tabs.find((t) => workerOf(t) === 0);
  const away = tabs.find((t) => workerOf(t) === 1);
  const r = await reader.ok({ op: 'read', ids: ['w-3', 'w-4'] });
  assert.equal(r.unread, 58);
  await away.next((f) => f.op === 'read' && f.ids?.includes('w-3'), 10000, 'read event on the other worker');

  // metrics: every family once, each sample labelled with its worker, connections add up
  const conns = everyTab.length + others.length;
  await waitFor(async () => {
    text = (await httpGet(edge.port, '/metrics')).body;
    return [0, 1].reduce((a, w) => a + sample(text, 'mqedge_connections', `worker="${w}",kind="user"`), 0) === conns;
  }, { timeoutMs: 5000, what: 'both workers report their connections' });
  const types = text.split('\n').filter((l) => l.startsWith('# TYPE '));
  assert.equal(types.length, new Set(types).size, 'each family described once');
  const unlabelled = text.split('\n').filter((l) => l && !l.startsWith('#') && !/^[a-z_]+\{worker="[01]"/.test(l));
  assert.deepEqual(unlabelled, [], 'every sample carries worker="0|1"');
  const open = [0, 1].map((w) => sample(text, 'mqedge_connections', `worker="${w}",kind="user"`));
  for (const w of [0, 1]) assert.equal(open[w], everyTab.concat(others).filter((c) => workerOf(c) === w).length, `worker ${w}'s connections`);
  assert.equal(sample(text, 'mqedge_worker_up', 'worker="1"'), 1);
  assert.equal(sample(text, 'mqedge_worker_restarts_total', 'worker="0"'), 0);
});

scenario('a SIGKILLed worker is restarted with backoff, the other keeps serving; SIGHUP reaches every worker; SIGTERM stops all', { timeout: 90000 }, async (env) => {
  const cert = (cn) => selfSignedCert(env.tmp, cn);
  const first = cert('first');
  const second = cert('second');
  const live = { key: join(env.tmp, 'live.key'), crt: join(env.tmp, 'live.crt') };
  copyFileSync(first.key, live.key);
  copyFileSync(first.crt, live.crt);
  const tlsPort = await new Promise((r) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => r(p));
    });
  });
  const broker = await env.startBroker();
  const edge = await env.startEdge({ id: 'h2', broker, extra: ['--workers', '2', '--tls-port', String(tlsPort), '--cert', live.crt, '--key', live.key] });

  const extra = { rooms: ['r'] };
  const clients = [];
  for (let i = 0; i < 16; i++) clients.push(await env.connect(edge, { user: `c${i}`, extra }));
  assert.equal(new Set(clients.map(workerOf)).size, 2, 'clients on both workers');
  for (const c of clients) await c.ok({ op: 'sub', room: 'r' });
  await env.syncTopic(topics.room('r'), clients);

  // wss through a worker's own listener: the TLS handshake is lws' after the adopt
  const wssWelcome = () => new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${tlsPort}/ws?token=${env.token('tlsuser')}`, { rejectUnauthorized: false });
    ws.on('message', (m) => {
      const f = JSON.parse(m);
      if (f.op === 'welcome') {
        resolve(f);
        ws.close();
      }
    });
    ws.on('error', reject);
  });
  assert.match((await wssWelcome()).edge, /^h2-w[01]$/);

  // SIGKILL worker 1
  const pidOf = (k) => {
    const m = [...edge.log().matchAll(new RegExp(`worker_started worker=${k} pid=(\\d+)`, 'g'))];
    return Number(m[m.length - 1][1]);
  };
  const victim = pidOf(1);
  const killedAt = Date.now();
  process.kill(victim, 'SIGKILL');
  const onVictim = clients.filter((c) => workerOf(c) === 1);
  const survivors = clients.filter((c) => workerOf(c) === 0);
  for (const c of onVictim) {
    const closed = await c.waitClose(5000);
    assert.equal(closed.code, 1006, `${c.name}: its worker died (no close frame)`);
  }
  for (const c of survivors) assert.equal(c.closed, null, `${c.name} on worker 0 stays connected`);
  // the survivors keep receiving while worker 1 is down
  const p = survivors[0];
  const ok = await p.ok({ op: 'pub', room: 'r', data: 'during restart' });
  for (const c of survivors) await c.next((f) => f.op === 'msg' && f.id === ok.id, 5000, `${c.name}: message while worker 1 is down`);
  // restarted after the first backoff (0.5 s), within a bound
  await waitFor(() => pidOf(1) !== victim, { timeoutMs: 10000, what: 'worker 1 started again' });
  const restartMs = Date.now() - killedAt;
  assert.ok(restartMs >= 450, `not before the backoff (${restartMs} ms)`);
  assert.match(edge.log(), /worker_exited worker=1 pid=\d+ signal=9/);
  assert.match(edge.log(), /worker_restart_scheduled worker=1 in_ms=500/);
  await waitFor(async () => {
    const r = await edge.readyz();
    return r.status === 200 && r.json.workers === 2;
  }, { timeoutMs: 15000, what: '/readyz with both workers again' });
  const text = (await httpGet(edge.port, '/metrics')).body;
  assert.equal(sample(text, 'mqedge_worker_restarts_total', 'worker="1"'), 1);
  assert.equal(sample(text, 'mqedge_worker_restarts_total', 'worker="0"'), 0);
  // new connections reach both workers again
  const again = [];
  for (let i = 0; i < 16 && new Set(again.map(workerOf)).size < 2; i++) again.push(await env.connect(edge, { user: `d${i}` }));
  assert.equal(new Set(again.map(workerOf)).size, 2, 'the restarted worker takes connections');

  // SIGHUP to the supervisor: every worker loads the new certificate
  copyFileSync(second.key, live.key);
  copyFileSync(second.crt, live.crt);
  const reloadsBefore = (edge.log().match(/tls_reloaded/g) ?? []).length;
  edge.proc.signal('SIGHUP');
  await waitFor(() => (edge.log().match(/tls_reloaded/g) ?? []).length === reloadsBefore + 2, { timeoutMs: 10000, what: 'both workers reloaded' });
  const peerCn = () => new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: tlsPort, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      resolve(s.getPeerCertificate().subject.CN);
      s.end();
    });
    s.on('error', reject);
  });
  for (let i = 0; i < 8; i++) assert.equal(await peerCn(), 'second', 'every worker serves the new certificate');

  // SIGTERM: clients get 1001, every process exits, the supervisor with 0
  const stopAt = Date.now();
  edge.proc.signal('SIGTERM');
  const exit = await edge.proc.waitExit(12000);
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(Date.now() - stopAt < 8000, 'stopped within the grace');
  for (const c of [...survivors, ...again]) assert.equal((await c.waitClose(2000)).code, 1001, `${c.name}: going away`);
  for (const k of [0, 1]) assert.throws(() => process.kill(pidOf(k), 0), /ESRCH/, `worker ${k} is gone`);
});

scenario('--workers with a port already taken: the start fails with exit 1 and says why', { timeout: 30000 }, async (env) => {
  const broker = await env.startBroker();
  const blocker = net.createServer();
  const port = await new Promise((r) => blocker.listen(0, '127.0.0.1', () => r(blocker.address().port)));
  env.onCleanup(() => new Promise((r) => blocker.close(r)));
  const edge = new Edge(env, { id: 'h3', broker, extra: ['--workers', '2'] });
  env.edges.push(edge);	// its log goes with a failure report; teardown stops it if it lives
  edge.port = port;
  edge.proc.starting = true;	// its exit is the point, not a problem
  const t0 = Date.now();
  edge.proc.start(MQEDGE_BIN, edge.args(), { env: edge.environment() });
  const exit = await edge.proc.waitExit(10000);
  edge.proc.starting = false;
  assert.deepEqual(exit, { code: 1, signal: null });
  assert.ok(Date.now() - t0 < 8000);
  assert.match(edge.log(), /startup_failed reason="cannot listen on 127\.0\.0\.1:\d+: Address already in use" worker=/);
  assert.match(edge.log(), /supervisor_stopped exit=1/);
});
