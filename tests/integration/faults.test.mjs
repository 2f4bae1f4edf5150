// Faults injected on purpose (issue 10): a disk that fills up under the inbox, a broker that hangs
// (SIGSTOP) for longer than the keepalive, an edge SIGKILLed in the middle of replaying a backlog.
// Each pins what PROTOCOL.md promises: nothing acknowledged that was not stored, a clear metric and
// log line, recovery without loss or duplicates once the fault is gone. (The broker killed outright
// is broker-restart.test.mjs; a TLS handshake that stalls and a token that expires mid-stream are
// rfc6455.test.mjs and auth.test.mjs.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, openSync, writeSync, closeSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { scenario, topics, counts, waitFor, httpGet, delay } from './lib/harness.mjs';
import { waitInboxSubscribed, inboxCluster, restartEdge, waitStored, backlogOf, api, metrics, notifies, remind, API_KEY } from './lib/inbox.mjs';

// Mounts a tmpfs of sizeKb under dir (root only); unmounted (lazily: the edge may still hold files
// there until teardown stops it) when the test ends. Returns null, with the reason, where mounting
// is not allowed.
function tinyFilesystem(env, dir, sizeKb) {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k,mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    return { skip: `cannot mount a tmpfs (needs root): ${String(e.stderr || e.message).trim()}` };
  }
  env.onCleanup(() => execFileSync('umount', ['-l', dir], { stdio: 'ignore' }));
  return { dir };
}

// Fills the filesystem of dir to the last byte; returns the filler's path.
function fillUp(dir) {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 0x78);
  try {
    for (let size = chunk.length; size >= 1; ) {
      try {
        writeSync(fd, chunk, 0, size);
      } catch (e) {
        if (e.code !== 'ENOSPC') throw e;
        size >>= 1;
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

scenario('disk full under the inbox: nothing acknowledged that was not stored, a metric and a log line, every notification once when space returns', { timeout: 90000 }, async (env, t) => {
  const fs = tinyFilesystem(env, join(env.tmp, 'tinyfs'), 1024);
  if (fs.skip) return t.skip(fs.skip);
  const broker = await env.startBroker();
  const e1 = await env.startEdge({ id: 'e1', broker, dataDir: join(fs.dir, 'e1-data'), extra: ['--api-key', API_KEY] });
  await waitInboxSubscribed(broker, e1);
  const bob = await env.connect(e1, { user: 'bob' });
  assert.equal(bob.welcome.unread, 0);
  const backend = await env.mqtt(broker, { name: 'backend' });
  const big = 'x'.repeat(3000); // ten of them are more than any slack left in the WAL

  const filler = fillUp(fs.dir);
  const logFrom = e1.proc.lines.length;
  const K = 10;
  for (let i = 1; i <= K; i++) await backend.pub(topics.notify('bob'), remind({ object_id: `o${i}`, data: { i, big } }));
  // the HTTP API keeps its own copy before it publishes: refused whole, nothing published
  const refused = await api(env, e1, { ...remind({ object_id: 'http', data: { i: 'http', big } }), to: ['bob'] });
  assert.equal(refused.status, 503, refused.body);
  assert.equal(refused.json.error, 'store_unavailable');
  await waitFor(() => e1.proc.lines.slice(logFrom).some((l) => /notify_http_not_stored/.test(l)), { what: 'the refusal logged' });

  await waitFor(async () => (await metrics(e1)).get('mqedge_inbox_write_failing') === 1, { timeoutMs: 10000, what: 'mqedge_inbox_write_failing 1' });
  const m = await metrics(e1);
  assert.ok(m.get('mqedge_inbox_commit_failures_total') >= 1, 'commit failures counted');
  assert.ok(m.get('mqedge_store_errors_total') >= 1, 'store errors counted');
  await waitFor(() => e1.proc.lines.slice(logFrom).some((l) => /inbox_batch_not_stored/.test(l)), { what: 'the inbox_batch_not_stored log line' });
  assert.ok(e1.proc.lines.slice(logFrom).some((l) => /store_error .*(full|disk)/i.test(l)), 'the SQLite error is logged');
  const ready = await httpGet(e1.port, '/readyz');
  assert.equal(ready.status, 503);
  assert.match(ready.body, /store_write_failing/);
  // not stored: not pushed either (a client must never see what the store would not keep)
  await bob.none((f) => f.op === 'notify', 1000, 'a notification that was not stored');
  // a client write meets the same full disk: a clear error, the connection stays
  await bob.err({ op: 'settings', mute: ['remind:liked'] }, 'unavailable');
  await bob.ok({ op: 'ping' });
  assert.equal(bob.closed, null);
  // it stays that way while the disk is full (a commit with nothing to write, like an idle prune,
  // proves nothing), and the retries do not write a line each
  const until = Date.now() + 4000;
  while (Date.now() < until) {
    assert.equal((await metrics(e1)).get('mqedge_inbox_write_failing'), 1, 'write_failing stays 1 while full');
    await delay(200);
  }
  for (const ev of ['store_error', 'inbox_batch_not_stored', 'mqtt_drop_connection'])
    assert.ok(e1.proc.lines.slice(logFrom).filter((l) => l.includes(` ${ev} `)).length <= 2, `${ev} held back while the fault lasts`);

  unlinkSync(filler);
  // the redelivery after the next reconnect of the inbox session is stored: every notification once, in order
  await bob.until((c) => notifies(c).length >= K, 20000, 'every notification after space returned').catch((e) => {
    throw new Error(`${e.message}; got ${notifies(bob).map((f) => f.data.i).join(',')}`);
  });
  await bob.none(() => false, 500); // room for a late duplicate
  const got = notifies(bob).map((f) => f.data.i);
  assert.deepEqual([...counts(got)].filter(([, n]) => n > 1), [], 'no duplicates');
  assert.deepEqual(got.filter((i) => i <= K), Array.from({ length: K }, (_, i) => i + 1), 'MQTT ones in publish order');
  assert.equal(got.length, K, 'and nothing else (the refused HTTP one was never published)');
  await waitFor(async () => (await httpGet(e1.port, '/readyz')).status === 200, { timeoutMs: 10000, what: 'ready again' });
  assert.equal((await metrics(e1)).get('mqedge_inbox_write_failing'), 0);
  await bob.ok({ op: 'settings', mute: ['remind:liked'] });
  // and it is all really on disk: a new session gets the whole backlog
  const again = await env.connect(e1, { user: 'bob', name: 'bob-again' });
  assert.equal(again.welcome.unread, K);
});

scenario('edge SIGKILLed in the middle of replaying a backlog: after the restart the user gets every unread notification once, in order, and nothing read', { timeout: 120000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await inboxCluster(env, 2);
  const backend = await env.mqtt(broker, { name: 'backend' });
  const K = 600;
  const READ = 100;
  const pad = 'p'.repeat(400); // ~0.6 KB a frame: the replay is many TCP segments, not one
  for (let i = 1; i <= K; i++) await backend.pub(topics.notify('carol'), remind({ object_id: `o${i}`, data: { i, pad } }));
  for (const e of [e1, e2]) await waitStored(e, K, 30000);

  // session A reads the first 100: committed before its ok, and published to the other edge
  const a = await env.connect(e1, { user: 'carol', name: 'carol-A' });
  const { pushed } = await backlogOf(a);
  assert.equal(pushed.length, K);
  const readIds = pushed.slice(0, READ).map((f) => f.id);
  assert.equal((await a.ok({ op: 'read', ids: readIds })).unread, K - READ);
  a.close();

  // session B stops reading after 50 frames of its replay; e1 dies with the rest in flight
  const b = await env.raw(e1, { user: 'carol' });
  await b.waitFor((c) => c.frames.length >= 51 && (c.pause(), true), 10000, '50 frames of the replay');
  const gotB = b.json().filter((f) => f.op === 'notify');
  assert.ok(gotB.length < K - READ && !b.json().some((f) => f.op === 'backlog'), `mid-replay: ${gotB.length} of ${K - READ}`);
  assert.equal(gotB[0].data.i, READ + 1, 'the replay starts after what was read');
  await e1.kill('SIGKILL');
  await restartEdge(e1, broker);

  // after the restart, on the same edge and on the other one: exactly the unread ones, in order, once
  const after = [];
  for (const edge of [e1, e2]) {
    const c = await env.connect(edge, { user: 'carol', name: `carol-after@${edge.id}` });
    assert.equal(c.welcome.unread, K - READ, `${edge.name}: welcome.unread`);
    const r = await backlogOf(c);
    assert.deepEqual(r.pushed.map((f) => f.op === 'notify' && f.data.i), Array.from({ length: K - READ }, (_, i) => READ + 1 + i), `${edge.name}: the backlog`);
    assert.deepEqual([r.backlog.count, r.backlog.more], [K - READ, false]);
    after.push(c);
  }
  // and the next live one comes once, after the backlog
  await backend.pub(topics.notify('carol'), remind({ object_id: 'live', data: { i: K + 1 } }));
  for (const c of after) await c.until((cl) => notifies(cl).some((f) => f.data.i === K + 1), 10000, 'the live one');
  await after[0].none(() => false, 300);
  for (const c of after) assert.deepEqual(notifies(c).map((f) => f.data.i), Array.from({ length: K - READ + 1 }, (_, i) => READ + 1 + i), `${c.name}: nothing else, nothing twice`);
});
