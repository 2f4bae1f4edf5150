// Behind a reverse proxy (issue 11): Debian's nginx runs examples/nginx/mqedge.conf itself (only the
// ports, the certificate and the timeouts are put in) in front of a real edge. An idle wss client
// stays connected through nginx for more than twice its proxy_read_timeout because the edge pings;
// the same proxy in front of an edge that pings less often than that cuts the idle client (so the
// timeout is real). The edge logs the client address from X-Forwarded-For only when the peer is a
// configured trusted proxy: a client that forges the header through nginx, or sends it to the edge
// directly, is logged with its own address. Clients use their own loopback addresses (127.0.0.2,
// 127.0.0.3) so that the proxy (127.0.0.1) and the clients can be told apart.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { scenario, freePort, waitFor, delay, Proc, openWs } from './lib/harness.mjs';
import { REPO_ROOT } from './lib/schemas.mjs';
import { httpRequest, API_KEY, API_PATH, remind } from './lib/inbox.mjs';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const EXAMPLE = join(REPO_ROOT, 'examples', 'nginx', 'mqedge.conf');
const PROXY_TIMEOUT_S = 3;

// The example with test values put in; every replaced text must be there exactly once, so the
// test breaks when the example changes shape rather than testing something else.
function render(example, { name, edgePort, listenPort, cert, key }) {
  let text = example;
  const put = (from, to) => {
    const n = text.split(from).length - 1;
    assert.equal(n, 1, `examples/nginx/mqedge.conf: expected "${from}" once, found ${n} times`);
    text = text.replace(from, to);
  };
  put('server 127.0.0.1:8080;', `server 127.0.0.1:${edgePort};`);
  put('listen 443 ssl;', `listen 127.0.0.1:${listenPort} ssl;`);
  put('/etc/ssl/certs/mqedge.example.org.pem', cert);
  put('/etc/ssl/private/mqedge.example.org.key', key);
  put('proxy_read_timeout 60s;', `proxy_read_timeout ${PROXY_TIMEOUT_S}s;`);
  put('proxy_send_timeout 60s;', `proxy_send_timeout ${PROXY_TIMEOUT_S}s;`);
  // a second copy in the same nginx needs its own names
  return text.replaceAll('upstream mqedge ', `upstream ${name} `).replaceAll('http://mqedge;', `http://${name};`).replaceAll('$mqedge_connection', `$${name}_connection`);
}

async function startNginx(env, servers) {
  const cert = join(env.tmp, 'proxy-cert.pem');
  const key = join(env.tmp, 'proxy-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const example = readFileSync(EXAMPLE, 'utf8');
  const sites = [];
  for (const s of servers) {
    s.listenPort = await freePort();
    const file = join(env.tmp, `site-${s.name}.conf`);
    writeFileSync(file, render(example, { ...s, cert, key }));
    sites.push(`include ${file};`);
  }
  const conf = join(env.tmp, 'nginx.conf');
  writeFileSync(conf, [
    process.getuid?.() === 0 ? 'user root;' : '', // the workers read the test's private temp dir
    'worker_processes 1;', 'daemon off;', `pid ${join(env.tmp, 'nginx.pid')};`, `error_log ${join(env.tmp, 'nginx-error.log')} info;`,
    'events { worker_connections 256; }',
    `http { access_log off; client_body_temp_path ${join(env.tmp, 'nginx-body')}; proxy_temp_path ${join(env.tmp, 'nginx-proxy')};`,
    ...sites, '}',
  ].join('\n'));
  const proc = new Proc('nginx', join(env.tmp, 'nginx.log'));
  proc.start(NGINX, ['-c', conf, '-p', env.tmp]);
  env.onCleanup(async () => {
    proc.signal('SIGQUIT');
    await proc.waitExit(5000).catch(() => proc.signal('SIGKILL'));
  });
  for (const s of servers)
    await waitFor(() => new Promise((res) => net.connect(s.listenPort, '127.0.0.1').on('connect', function () { this.destroy(); res(true); }).on('error', () => res(false))), {
      timeoutMs: 10000, what: `nginx listening on ${s.listenPort}`,
    });
  return proc;
}

// A wss client through the proxy (or ws straight to an edge), from localAddress.
async function client(env, url, { user, localAddress, headers = {} }) {
  const r = await openWs(url, { token: env.token(user), name: user, headers, wsOptions: { localAddress, rejectUnauthorized: false } });
  if (!r.client) throw new Error(`${user}: upgrade refused: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  env.clients.push(r.client);
  return r.client;
}

const sessionLine = (edge, user) => edge.proc.lines.find((l) => / session_open /.test(l) && l.includes(` user=${user} `));

scenario('nginx in front (examples/nginx/mqedge.conf): idle clients kept by the edge\'s pings, the real client address from trusted proxies only', {
  timeout: 60000,
  skip: NGINX ? false : 'nginx is not installed (scripts/deps.sh installs nginx-light with MQEDGE_WITH_TEST_DEPS=1)',
}, async (env) => {
  const broker = await env.startBroker();
  const pinging = await env.startEdge({ id: 'e1', broker, extra: ['--ping-interval', '1', '--ping-timeout', '2', '--trusted-proxies', '127.0.0.1', '--api-key', API_KEY] });
  const quiet = await env.startEdge({ id: 'e2', broker, extra: ['--ping-interval', '30', '--trusted-proxies', '127.0.0.1'] });
  const sites = [{ name: 'pinging', edgePort: pinging.port }, { name: 'quiet', edgePort: quiet.port }];
  await startNginx(env, sites);
  const [viaPinging, viaQuiet] = sites.map((s) => `wss://127.0.0.1:${s.listenPort}/ws`);

  // through the proxy, with a forged X-Forwarded-For: the edge pings, the client stays
  const alice = await client(env, viaPinging, { user: 'alice', localAddress: '127.0.0.2', headers: { 'X-Forwarded-For': '203.0.113.7' } });
  const bob = await client(env, viaQuiet, { user: 'bob', localAddress: '127.0.0.2' });
  const t0 = Date.now();
  const bobClosed = bob.waitClose(PROXY_TIMEOUT_S * 1000 + 5000).then((c) => ({ ...c, at: Date.now() }));
  await delay(PROXY_TIMEOUT_S * 1000 * 2 + 1000);
  assert.equal(alice.closed, null, `alice idle for ${Date.now() - t0} ms through a ${PROXY_TIMEOUT_S} s proxy timeout`);
  assert.ok(alice.pings >= PROXY_TIMEOUT_S * 2, `the edge pinged (${alice.pings} pings)`);
  await alice.ok({ op: 'ping' });
  // the control: an edge that pings every 30 s is cut by the proxy's timeout
  const cut = await bobClosed;
  const cutMs = cut.at - t0;
  assert.ok(cutMs >= PROXY_TIMEOUT_S * 1000 - 500 && cutMs < PROXY_TIMEOUT_S * 1000 + 3000, `bob cut after ${cutMs} ms (code ${cut.code})`);

  // the address: what nginx saw (127.0.0.2), never what the client wrote
  assert.match(sessionLine(pinging, 'alice') ?? '', / addr=127\.0\.0\.2\b/, sessionLine(pinging, 'alice'));
  // straight to the edge with a forged header: the peer is not a trusted proxy, the header is ignored
  await client(env, `ws://127.0.0.1:${pinging.port}/ws`, { user: 'carol', localAddress: '127.0.0.3', headers: { 'X-Forwarded-For': '203.0.113.9' } });
  await waitFor(() => sessionLine(pinging, 'carol'), { what: 'carol\'s session_open line' });
  assert.match(sessionLine(pinging, 'carol'), / addr=127\.0\.0\.3\b/);
  // the API through the proxy: its log line names the client too
  const r = await httpRequest(0, API_PATH, {
    url: `https://127.0.0.1:${sites[0].listenPort}${API_PATH}`, method: 'POST', localAddress: '127.0.0.2',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ ...remind(), to: ['alice'] }),
  });
  assert.equal(r.status, 201, r.body);
  await waitFor(() => pinging.proc.lines.some((l) => / api_request .*status=201 .*addr=127\.0\.0\.2\b/.test(l)), { what: 'api_request with the client address' });
  // and the demo page and probes pass through
  assert.equal((await httpRequest(0, '/readyz', { url: `https://127.0.0.1:${sites[0].listenPort}/readyz` })).status, 200);
  assert.equal((await httpRequest(0, '/metrics', { url: `https://127.0.0.1:${sites[0].listenPort}/metrics` })).status, 403, '/metrics is not proxied');
});
