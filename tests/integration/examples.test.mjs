// The backend examples do what their headers say (issue 11: KIND=announcement-only was documented and
// then refused): examples/backend/notify-mqtt.sh publishes with mosquitto_pub, notify-http.sh posts to
// an edge's API with curl; a user on the edge gets exactly what each sent.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { scenario } from './lib/harness.mjs';
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
