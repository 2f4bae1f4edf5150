// docker-compose.yml cannot run here (no Docker engine), so scripts/local-cluster.sh starts the same
// topology from the build tree: one Mosquitto (docker/mosquitto.conf) and two edges
// (docker/mqedge.conf). This test runs that script on free ports, checks both edges serve the demo,
// the API and WebSocket clients that reach each other across edges, then stops it with SIGTERM. It
// also checks that docker-compose.yml still describes the same thing (services, config files, flags).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scenario, freePort, httpGet, waitFor, MQEDGE_BIN } from './lib/harness.mjs';
import { REPO_ROOT } from './lib/schemas.mjs';
import { openWs } from './lib/client.mjs';
import { signJwt, userClaims } from './lib/jwt.mjs';

scenario('docker-compose.yml and scripts/local-cluster.sh describe the same topology', { needsEdge: false }, async () => {
  const compose = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const script = readFileSync(join(REPO_ROOT, 'scripts', 'local-cluster.sh'), 'utf8');
  for (const svc of ['broker', 'edge1', 'edge2']) assert.match(compose, new RegExp(`^  ${svc}:$`, 'm'), `service ${svc}`);
  for (const target of ['broker', 'edge']) {
    assert.match(compose, new RegExp(`target: ${target}`), `compose builds target ${target}`);
    assert.match(dockerfile, new RegExp(`^FROM debian:12\\S* AS ${target}$`, 'm'), `Dockerfile stage ${target} on Debian 12`);
  }
  assert.match(compose, /\.\/docker\/mosquitto\.conf:\/mosquitto\/config\/mosquitto\.conf/);
  assert.match(script, /docker\/mosquitto\.conf/);
  assert.match(dockerfile, /COPY docker\/mqedge\.conf/);
  assert.match(script, /--config docker\/mqedge\.conf/);
  for (const flag of ['--edge-id', '--broker']) {
    assert.equal(compose.split(`"${flag}"`).length - 1, 2, `both compose edges pass ${flag}`);
    assert.match(script, new RegExp(flag), `the script passes ${flag}`);
  }
  // secrets through the environment in both, never as flags (ps shows flags)
  for (const name of ['MQEDGE_JWT_SECRET', 'MQEDGE_API_KEY']) {
    assert.equal(compose.split(`      ${name}: `).length - 1, 2, `both compose edges get ${name}`);
    assert.match(script, new RegExp(`${name}=\\$`), `the script passes ${name}`);
  }
  for (const flag of ['--jwt-secret', '--api-key']) {
    assert.doesNotMatch(compose, new RegExp(`"${flag}"`), `compose passes no ${flag} flag`);
    assert.doesNotMatch(script, new RegExp(`${flag} `), `the script passes no ${flag} flag`);
  }
  // the anonymous broker is not published beyond this host
  assert.match(compose, /ports: \["127\.0\.0\.1:1883:1883"\]/);
  assert.match(dockerfile, /--web-root", "\/usr\/share\/mqedge\/web"/);
  assert.match(script, /--web-root "\$root\/examples\/web"/);
});

scenario('scripts/local-cluster.sh: a broker and two edges that talk to each other', { timeout: 90000 }, async (env) => {
  const [bport, p1, p2] = [await freePort(), await freePort(), await freePort()];
  const secret = 'cluster-test-secret';
  const proc = spawn('bash', [join(REPO_ROOT, 'scripts', 'local-cluster.sh'), '--no-build', '--broker-port', String(bport),
    '--edge-ports', `${p1},${p2}`, '--dir', join(env.tmp, 'cluster')], {
    env: { ...process.env, MQEDGE_BIN, MQEDGE_JWT_SECRET: secret, MQEDGE_API_KEY: 'cluster-key' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: a failed test still takes the broker and edges down
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  env.onCleanup(async () => {
    if (proc.exitCode !== null) return;
    process.kill(-proc.pid, 'SIGTERM');
    const gone = await Promise.race([exited, new Promise((r) => setTimeout(() => r(false), 10000))]);
    if (!gone) process.kill(-proc.pid, 'SIGKILL');
  });
  await waitFor(() => out.includes('local-cluster: ready'), { timeoutMs: 30000, what: `the cluster (output: ${out})` });

  for (const port of [p1, p2]) {
    assert.equal((await httpGet(port, '/readyz')).status, 200);
    const demo = await httpGet(port, '/demo/');
    assert.equal(demo.status, 200, 'the demo page is served');
  }
  const token = (sub) => signJwt(userClaims(sub, { rooms: ['*'] }), { alg: 'HS256', key: secret });
  const a = (await openWs(`ws://127.0.0.1:${p1}/ws`, { token: token('ann'), name: 'ann' })).client;
  const b = (await openWs(`ws://127.0.0.1:${p2}/ws`, { token: token('bob'), name: 'bob' })).client;
  await a.ok({ op: 'sub', room: 'cl' });
  await b.ok({ op: 'sub', room: 'cl' });
  await a.ok({ op: 'pub', room: 'cl', data: 'across' });
  await b.until(() => b.roomMsgs('cl').some((m) => m.data === 'across'), 5000, 'the message from the other edge');
  a.terminate();
  b.terminate();

  proc.kill('SIGTERM');
  const exit = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 15000))]);
  assert.notEqual(exit, 'timeout', 'the script stops everything on SIGTERM');
  for (const port of [bport, p1, p2]) {
    await assert.rejects(httpGet(port, '/healthz', { timeoutMs: 500 }), `port ${port} is free again`);
  }
});
