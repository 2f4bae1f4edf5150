// TLS session resumption on wss (issue 14; docs/PROTOCOL.md "wss"): stateless session tickets whose
// keys derive from tls-ticket-key and the period, so a client resumes on the edge that served it, on
// another edge given the same key, after a restart, and on whichever worker it lands; keys rotate
// (a ticket of the previous period resumes and is renewed, an older one gets a full handshake and
// the connection still works); tickets off issues none; a short key is refused at start-up.
// The client is Node's own TLS (npm ws over tls.connect with the saved session): isSessionReused()
// says what the handshake was, the edge's mqedge_wss_sessions_total and mqedge_tls_tickets_total
// say the same from its side.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import WebSocket from 'ws';
import { scenario, waitFor, delay, freePort, selfSignedCert, runEdgeToExit } from './lib/harness.mjs';
import { metrics } from './lib/inbox.mjs';

// Opens wss://127.0.0.1:port/ws offering session (a Buffer from an earlier connection, or none);
// resolves at the welcome with { ws, welcome, reused, ticket() (the newest session the edge sent) }.
function wss(env, port, { user = 'tlsuser', session } = {}) {
  return new Promise((resolve, reject) => {
    let sock;
    let newest = null;
    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws?token=${env.token(user)}`, {
      rejectUnauthorized: false,
      createConnection: (o) => {
        sock = tls.connect({ ...o, path: undefined, servername: '', session });
        sock.on('session', (s) => (newest = s));
        return sock;
      },
    });
    const timer = setTimeout(() => reject(new Error(`no welcome over wss on ${port} within 5 s`)), 5000);
    ws.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    ws.on('message', (m) => {
      const f = JSON.parse(m);
      if (f.op !== 'welcome') return;
      clearTimeout(timer);
      resolve({ ws, welcome: f, reused: sock.isSessionReused(), ticket: () => newest });
    });
  });
}

// One connection: its handshake kind, its welcome, and (once the edge sent one) its ticket; closed.
async function once(env, port, session, { wantTicket = true } = {}) {
  const c = await wss(env, port, { session });
  if (wantTicket) await waitFor(() => c.ticket(), { timeoutMs: 3000, what: 'a session ticket' });
  const closed = new Promise((r) => c.ws.once('close', r));
  c.ws.close(1000);
  await closed;
  return { reused: c.reused, ticket: c.ticket(), welcome: c.welcome };
}

const sample = (m, name, labels) => m.get(`${name}{${labels}}`);

async function tlsCounts(edge) {
  const text = await metrics(edge);
  const c = { full: sample(text, 'mqedge_wss_sessions_total', 'handshake="full"'), resumed: sample(text, 'mqedge_wss_sessions_total', 'handshake="resumed"') };
  for (const r of ['issued', 'current_key', 'previous_key', 'refused', 'error']) c[r] = sample(text, 'mqedge_tls_tickets_total', `result="${r}"`);
  return c;
}

function keyFile(env, name) {
  const path = join(env.tmp, name);
  writeFileSync(path, `${randomBytes(48).toString('base64')}\n`, { mode: 0o600 });
  return path;
}

async function tlsEdge(env, broker, id, extra = []) {
  const cert = selfSignedCert(env.tmp, id);
  const tlsPort = await freePort();
  const edge = await env.startEdge({ id, broker, extra: ['--tls-port', String(tlsPort), '--cert', cert.crt, '--key', cert.key, ...extra] });
  edge.tlsPort = tlsPort;
  return edge;
}

scenario('a ticket resumes on its edge, on another edge with the same key file and after a restart; not under another key', { timeout: 60000 }, async (env) => {
  const broker = await env.startBroker();
  const shared = keyFile(env, 'tickets.key');
  const a = await tlsEdge(env, broker, 'ta', ['--tls-ticket-key-file', shared]);
  const b = await tlsEdge(env, broker, 'tb', ['--tls-ticket-key-file', shared]);
  const c = await tlsEdge(env, broker, 'tc', ['--tls-ticket-key', randomBytes(32).toString('hex')]);

  const first = await once(env, a.tlsPort);
  assert.equal(first.reused, false, 'first connection: full handshake');
  assert.equal(first.welcome.edge, 'ta');
  const onA = await once(env, a.tlsPort, first.ticket);
  assert.equal(onA.reused, true, 'same edge: resumed');
  const onB = await once(env, b.tlsPort, onA.ticket);
  assert.equal(onB.reused, true, 'another edge with the same key file: resumed');
  assert.equal(onB.welcome.edge, 'tb');
  const onC = await once(env, c.tlsPort, onB.ticket);
  assert.equal(onC.reused, false, 'an edge with another key: full handshake');
  assert.equal(onC.welcome.edge, 'tc', 'and the session works');

  // OpenSSL sends two tickets after a full handshake, one after a resumption
  assert.deepEqual(await tlsCounts(a), { full: 1, resumed: 1, issued: 3, current_key: 1, previous_key: 0, refused: 0, error: 0 });
  assert.deepEqual(await tlsCounts(b), { full: 0, resumed: 1, issued: 1, current_key: 1, previous_key: 0, refused: 0, error: 0 });
  assert.deepEqual(await tlsCounts(c), { full: 1, resumed: 0, issued: 2, current_key: 0, previous_key: 0, refused: 1, error: 0 });

  // a restart with the same key file: the tickets it issued before still resume
  await a.restart();
  const afterRestart = await once(env, a.tlsPort, onB.ticket);
  assert.equal(afterRestart.reused, true, 'restarted edge, same key file: resumed');
  assert.deepEqual(await tlsCounts(a), { full: 0, resumed: 1, issued: 1, current_key: 1, previous_key: 0, refused: 0, error: 0 });
});

scenario('--workers 2 without a key file: a ticket resumes on whichever worker the connection lands', { timeout: 60000 }, async (env) => {
  const broker = await env.startBroker();
  const edge = await tlsEdge(env, broker, 'tw', ['--workers', '2']);
  let { ticket } = await once(env, edge.tlsPort);
  const served = new Set();
  for (let i = 0; i < 16; i++) {
    const r = await once(env, edge.tlsPort, ticket);
    assert.equal(r.reused, true, `connection ${i} (${r.welcome.edge}): resumed`);
    served.add(r.welcome.edge);
    ticket = r.ticket;
  }
  assert.deepEqual([...served].sort(), ['tw-w0', 'tw-w1'], 'both workers resumed tickets');
  // each worker posts its metrics on the board once a second
  const resumedSum = async () => {
    const m = await metrics(edge);
    return [0, 1].reduce((n, w) => n + sample(m, 'mqedge_wss_sessions_total', `worker="${w}",handshake="resumed"`), 0);
  };
  await waitFor(async () => (await resumedSum()) === 16, { timeoutMs: 5000, what: '16 resumed sessions in /metrics' });
  await delay(1200);
  assert.equal(await resumedSum(), 16, 'and no more');
});

scenario('keys rotate: a previous-period ticket resumes and is renewed, an older one gets a full handshake', { timeout: 60000 }, async (env) => {
  const ROTATE = 3;
  const broker = await env.startBroker();
  const edge = await tlsEdge(env, broker, 'tr', ['--tls-ticket-rotate', String(ROTATE)]);
  // take a ticket late in a period (0.6-0.9 s before its end), use it just after the next began
  const intoPeriod = () => (Date.now() / 1000) % ROTATE;
  if (intoPeriod() > ROTATE - 0.9) await delay((ROTATE - intoPeriod() + 0.1) * 1000);
  await delay(Math.max(0, (ROTATE - 0.9 - intoPeriod()) * 1000));
  const issuedAt = Date.now();
  const { ticket } = await once(env, edge.tlsPort);
  const nextPeriodAt = (Math.floor(issuedAt / 1000 / ROTATE) + 1) * ROTATE * 1000;
  assert.ok(nextPeriodAt - issuedAt < 1000, 'the ticket came late in its period');
  await delay(nextPeriodAt - Date.now() + 300);
  const renewed = await once(env, edge.tlsPort, ticket);
  assert.equal(renewed.reused, true, 'previous period: resumed');
  let c = await tlsCounts(edge);
  assert.deepEqual([c.full, c.resumed, c.current_key, c.previous_key, c.refused], [1, 1, 0, 1, 0]);

  // the first ticket again, two periods after it was issued: expired, a full handshake, a working session
  await delay(Math.max(0, issuedAt + 2 * ROTATE * 1000 + 300 - Date.now()));
  const expired = await once(env, edge.tlsPort, ticket);
  assert.equal(expired.reused, false, 'two periods old: full handshake');
  assert.equal(expired.welcome.edge, 'tr');
  c = await tlsCounts(edge);
  assert.deepEqual([c.full, c.resumed, c.current_key, c.previous_key, c.error], [2, 1, 0, 1, 0]);
  assert.ok(c.refused === 1 || c.refused === 0, `refused ${c.refused}`); // OpenSSL's own expiry may answer first
});

scenario('--tls-session-tickets false: no ticket is issued, every handshake is full', { timeout: 30000 }, async (env) => {
  const broker = await env.startBroker();
  const edge = await tlsEdge(env, broker, 'tn', ['--tls-session-tickets', 'false']);
  const r = await once(env, edge.tlsPort, undefined, { wantTicket: false });
  await delay(300);
  assert.equal(r.reused, false);
  assert.equal(r.ticket, null, 'no NewSessionTicket');
  assert.deepEqual(await tlsCounts(edge), { full: 1, resumed: 0, issued: undefined, current_key: undefined, previous_key: undefined, refused: undefined, error: undefined });
});


scenario('a short or missing tls-ticket-key is refused at start-up with exit 2', { timeout: 30000 }, async (env) => {
  const short = join(env.tmp, 'short.key');
  writeFileSync(short, 'only-twenty-characters\n', { mode: 0o600 });
  const missing = join(env.tmp, 'missing.key');
  const cases = [
    [['--tls-ticket-key', 'x'.repeat(31)], 'mqedge: tls-ticket-key: at least 32 characters (e.g. openssl rand -base64 48)\n'],
    [['--tls-ticket-key-file', short], 'mqedge: tls-ticket-key: at least 32 characters (e.g. openssl rand -base64 48)\n'],
    [['--tls-ticket-key-file', missing], `mqedge: tls-ticket-key-file: cannot read ${missing}: No such file or directory\n`],
  ];
  for (const [args, message] of cases) {
    for (const check of [[], ['--check-config']]) {
      const r = await runEdgeToExit(['--allow-anonymous', '--broker', '127.0.0.1:1', '--data-dir', join(env.tmp, 'data'), ...args, ...check]);
      assert.deepEqual([r.code, r.out], [2, message], `${args.join(' ')} ${check.join(' ')}`);
    }
  }
});
