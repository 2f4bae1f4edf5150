// The backend examples do what their headers say (issue 11: KIND=announcement-only was documented and
// then refused): examples/backend/notify-mqtt.sh publishes with mosquitto_pub, notify-http.sh posts to
// an edge's API with curl; a user on the edge gets exactly what each sent. rpc-worker.mjs (the rpc
// backend) over MQTT 5 directly: answers on the Response Topic with the Correlation Data, the caller
// from the User Properties only, drops requests it cannot answer, --prefix/--group, exit 0 on SIGTERM.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { scenario, waitFor, delay } from './lib/harness.mjs';
import { startRpcWorker } from './lib/rpc-worker.mjs';
import { inboxCluster, notifies, httpRequest, API_KEY } from './lib/inbox.mjs';
import { REPO_ROOT } from './lib/schemas.mjs';

const run = promisify(execFile);
const script = (name) => join(REPO_ROOT, 'examples', 'backend', name);

scenario('examples/backend: notify-mqtt.sh (each KIND, announcement-only) and notify-http.sh reach the user', { timeout: 60000 }, async (env) => {
  const { broker, edges: [e1] } = await inboxCluster(env, 1, { extra: ['--api-key', API_KEY] });
  const bob = await env.connect(e1, { user: 'bob' });
  const mqttEnv = { ...process.env, MQTT_HOST: '127.0.0.1', MQTT_PORT: String(broker.port) };

  await run(script('notify-mqtt.sh'), ['bob', 'a note'], { env: { ...mqttEnv, KIND: 'mailbox', ANNOUNCE: '0' } });
  await bob.until((c) => notifies(c).length === 1, 5000, 'the mailbox notification');
  await run(script('notify-mqtt.sh'), ['bob', 'a comment'], { env: { ...mqttEnv, KIND: 'remind', ANNOUNCE: '0' } });
  await bob.until((c) => notifies(c).length === 2, 5000, 'the remind notification');
  await run(script('notify-mqtt.sh'), ['bob'], { env: { ...mqttEnv, KIND: 'announcement-only' } });
  await bob.until((c) => notifies(c).length === 3, 5000, 'the announcement');
  assert.deepEqual(notifies(bob).map((f) => [f.kind, f.title]), [['mailbox', 'a note'], ['remind', 'a comment'], ['announcement', 'Maintenance tonight 22:00-22:15 UTC']]);
  const bad = await run(script('notify-mqtt.sh'), ['bob'], { env: { ...mqttEnv, KIND: 'nonsense' } }).catch((e) => e);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /KIND must be mailbox, remind or announcement-only/);

  const { stdout } = await run(script('notify-http.sh'), ['bob'], { env: { ...process.env, EDGE_URL: `http://127.0.0.1:${e1.port}`, API_KEY, ANNOUNCE: '0', TITLE: 'from http' } });
  assert.match(stdout, /"ids":\[/);
  await bob.until((c) => notifies(c).length === 4, 5000, 'the HTTP notification');
  assert.equal(notifies(bob)[3].title, 'from http');
  await bob.none((f) => f.op === 'notify' && notifies(bob).length > 4, 300);
});

scenario('GET / says what the edge serves: a redirect to the demo when it is served, else a short index', { timeout: 30000 }, async (env) => {
  const broker = await env.startBroker();
  const plain = await env.startEdge({ id: 'e1', broker });
  const demo = await env.startEdge({ id: 'e2', broker, extra: ['--web-root', join(REPO_ROOT, 'examples', 'web')] });
  const a = await httpRequest(plain.port, '/');
  assert.equal(a.status, 200);
  assert.match(a.headers['content-type'], /^text\/plain/);
  for (const path of ['/ws', '/healthz', '/readyz', '/metrics']) assert.ok(a.body.includes(path), `the index names ${path}`);
  const b = await httpRequest(demo.port, '/');
  assert.equal(b.status, 302);
  assert.equal(b.headers.location, '/demo/');
  assert.equal((await httpRequest(demo.port, '/demo/')).status, 200);
});

scenario('examples/backend/rpc-worker.mjs over MQTT 5: Response Topic + Correlation Data, caller from User Properties, no answer without them, SIGTERM', { timeout: 30000, needsEdge: false }, async (env) => {
  const broker = await env.startBroker();
  const worker = await startRpcWorker(env, broker, { name: 'wx', prefix: 'app/v2', group: 'g1' });
  assert.match(worker.output(), /ready \(broker mqtt:\/\/127\.0\.0\.1:\d+, \$share\/g1\/app\/v2\/rpc\/\+ at QoS 1/);
  const c = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`, { protocolVersion: 5, clientId: 'rpc-test-caller', reconnectPeriod: 0 });
  env.onCleanup(() => c.endAsync(true));
  await new Promise((resolve, reject) => { c.once('connect', resolve); c.once('error', reject); });
  const answers = [];
  c.on('message', (topic, payload, packet) => answers.push({ topic, body: JSON.parse(payload.toString()), corr: packet.properties?.correlationData?.toString() }));
  await c.subscribeAsync('app/v2/edge/test/rpc', { qos: 1 });
  const ask = (method, data, props) => c.publishAsync(`app/v2/rpc/${method}`, data === undefined ? '' : JSON.stringify(data), { qos: 1, properties: props });
  const props = (corr, user = { user: 'alice', kind: 'user', session: 's1', edge: 'e9' }) => ({ responseTopic: 'app/v2/edge/test/rpc', correlationData: Buffer.from(corr), ...(user ? { userProperties: user } : {}) });

  await ask('whoami', { user: 'mallory' }, props('c1'));
  await ask('add', { a: 1, b: 2 }, props('c2'));
  await ask('add', { a: 1 }, props('c3'));
  await ask('whoami', null, props('c4', null)); // no user property: no caller
  await ask('echo', 'no response topic', { correlationData: Buffer.from('c5') });
  await ask('echo', 'no correlation', { responseTopic: 'app/v2/edge/test/rpc' });
  await ask('echo', 'last', props('c7'));
  await waitFor(() => answers.some((a) => a.corr === 'c7'), { what: 'the answer to c7' });
  await delay(200);
  // each request is answered on its own (the methods are async): answers may come in any order
  assert.deepEqual(answers.map((a) => [a.corr, a.body]).sort((x, y) => x[0].localeCompare(y[0])), [
    ['c1', { data: { user: 'alice', kind: 'user', session: 's1', edge: 'e9', worker: 'wx' } }],
    ['c2', { data: { sum: 3 } }],
    ['c3', { error: { code: 'bad_args', message: 'add takes {"a": number, "b": number}' } }],
    ['c4', { error: { code: 'no_caller', message: 'the request carries no user property' } }],
    ['c7', { data: 'last' }],
  ]);
  assert.equal((worker.output().match(/no Response Topic or Correlation Data; dropped/g) ?? []).length, 2);

  await ask('slow', { ms: 5000 }, props('c8'));
  await delay(100);
  await worker.stop(5000);
  assert.deepEqual(worker.exit, { code: 0, signal: null }, 'exit status after SIGTERM, with an answer still owed');
  assert.ok(!answers.some((a) => a.corr === 'c8'));
});

// The server API's curl commands in examples/backend/README.md, run as documented (each ```sh block
// after the "The server API" heading, with EDGE_URL and API_KEY set): each exits 0, prints the answer
// its comment shows the shape of, and does what it says (a member of lobby gets the publish, mallory is
// closed with 4010, then revoked and lifted).
scenario('examples/backend/README.md: every server API curl command runs and does what it says', { timeout: 60000 }, async (env) => {
  const { readFileSync } = await import('node:fs');
  const { edges: [e1] } = await inboxCluster(env, 1, { extra: ['--api-key', API_KEY, '--status-interval', '1'] });
  const readme = readFileSync(join(REPO_ROOT, 'examples', 'backend', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('# The server API'));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).slice(1); // the first sets the variables
  const commands = blocks.flatMap((b) => b.replace(/\\\n/g, ' ').split('\n').filter((l) => l.startsWith('curl ')));
  assert.equal(commands.length, 7, 'publish x3, broadcast, disconnect x2, info');
  const member = await env.connect(e1, { claims: { sub: 'watcher', iat: Math.floor(Date.now() / 1000), rooms: ['*'] } });
  await member.ok({ op: 'sub', room: 'lobby' });
  const mallory = await env.connect(e1, { claims: { sub: 'mallory', iat: Math.floor(Date.now() / 1000) - 60 } });
  const shell = (cmd) => run('bash', ['-c', cmd], { env: { ...process.env, EDGE_URL: `http://127.0.0.1:${e1.port}`, API_KEY }, timeout: 10000 });
  const out = [];
  for (const cmd of commands) out.push(JSON.parse((await shell(cmd)).stdout));
  assert.equal(out[0].id, 'deploy-1842');
  const m = await member.next((f) => f.op === 'msg' && f.room === 'lobby', 5000);
  assert.deepEqual([m.id, m.from, m.data], ['deploy-1842', 'ci', { text: 'deploy finished' }]);
  assert.deepEqual(out[3].results.map((r) => r.room), ['team-a', 'team-b', 'lobby']);
  assert.deepEqual([out[4].user, out[4].closed_here, out[5].refuse_tokens_before], ['mallory', 1, 0]);
  assert.deepEqual(Object.values(await mallory.waitClose(3000)), [4010, 'account suspended']);
  assert.deepEqual(out[6].edges.map((x) => x.edge), ['e1']);
});
