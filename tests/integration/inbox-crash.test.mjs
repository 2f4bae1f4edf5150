// kill -9 between accepting a notification and delivering it. PROTOCOL.md section 7: an edge commits a
// burst before the broker's PUBACKs for it leave, so an edge killed at any point has either stored a
// notification or not acknowledged it, and the broker (persistent session) redelivers it.
// MQTT: in each round a backend publishes 20 notifications (QoS 1, ids derived from the content) for a
// user who is offline, and edge e1 is SIGKILLed at a different moment: in the middle of the burst, at
// once when the last publish returns, and 5, 30 and 150 ms later. e1 restarts with the same data dir and
// edge id; the user connects to e1 and gets every notification exactly once (backlog plus whatever the
// broker redelivers live), and so does a tab on e2, which never died.
// HTTP: a 201 from e1 means e1 committed it and the broker took it. e1 is SIGKILLed the instant the 201
// arrives; after the restart the user gets it from e1's own store, and from e2 -- once.
import assert from 'node:assert/strict';
import { scenario, topics, counts, delay } from './lib/harness.mjs';
import { inboxCluster, restartEdge, api, notifies, remind, mailbox, API_KEY } from './lib/inbox.mjs';

// Connects user to edge and checks it ends up with exactly the expected notifications (by data.i).
async function expectExactlyOnce(env, edge, user, expected, what) {
  const c = await env.connect(edge, { user });
  const has = (cl) => new Set(notifies(cl).map((f) => f.data?.i));
  await c
    .until((cl) => expected.every((i) => has(cl).has(i)), 20000, `${what}: every notification at ${c.name}`)
    .catch((e) => {
      throw new Error(`${e.message}; missing: ${expected.filter((i) => !has(c).has(i)).join(',')}; welcome.unread=${c.welcome.unread}`);
    });
  await c.none(() => false, 300); // room for a late duplicate
  const got = notifies(c).map((f) => f.data.i);
  const dups = [...counts(got)].filter(([, n]) => n > 1).map(([i]) => i);
  assert.deepEqual(dups, [], `${what}: duplicates at ${c.name}`);
  assert.deepEqual([...got].sort((a, b) => a - b), [...expected].sort((a, b) => a - b), `${what}: exactly the published set at ${c.name}`);
  assert.equal(new Set(notifies(c).map((f) => f.id)).size, got.length, `${what}: one id per notification`);
  c.close();
  return notifies(c);
}

scenario('SIGKILL an edge between accept and delivery (MQTT ingress): every notification exactly once after restart', { timeout: 120000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await inboxCluster(env, 2);
  const backend = await env.mqtt(broker, { name: 'backend' });
  const K = 20;
  for (const timing of ['mid-burst', 0, 5, 30, 150]) {
    const user = `bob-${timing}`;
    const expected = Array.from({ length: K }, (_, i) => i + 1);
    const body = (i) => (i % 2 ? remind({ object_id: `o${i}`, data: { i } }) : mailbox({ data: { i } }));
    let killed;
    if (timing === 'mid-burst') {
      const first = expected.slice(0, K / 2).map((i) => backend.pub(topics.notify(user), body(i)));
      await Promise.all(first);
      killed = e1.kill('SIGKILL');
      await Promise.all(expected.slice(K / 2).map((i) => backend.pub(topics.notify(user), body(i))));
    } else {
      await Promise.all(expected.map((i) => backend.pub(topics.notify(user), body(i))));
      if (timing) await delay(timing);
      killed = e1.kill('SIGKILL');
    }
    await killed;
    await restartEdge(e1, broker);
    await expectExactlyOnce(env, e1, user, expected, `kill ${timing}`);
    await expectExactlyOnce(env, e2, user, expected, `kill ${timing} (other edge)`);
  }
});

scenario('SIGKILL an edge right after its HTTP 201: the notification survives on that edge and reaches the other', { timeout: 120000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await inboxCluster(env, 2, { perEdge: [['--api-key', API_KEY]] });
  for (const [round, batch] of [[1, false], [2, true], [3, false]]) {
    const user = `carl-${round}`;
    const items = batch ? [1, 2, 3].map((i) => mailbox({ to: [user], data: { i } })) : mailbox({ to: [user], data: { i: 1 } });
    const expected = batch ? [1, 2, 3] : [1];
    const r = await api(env, e1, items);
    e1.proc.signal('SIGKILL'); // the instant the 201 is in
    assert.equal(r.status, 201, r.body);
    assert.equal(r.json.ids.length, expected.length);
    await e1.proc.waitExit(10000);
    await restartEdge(e1, broker);
    const got1 = await expectExactlyOnce(env, e1, user, expected, `HTTP round ${round} on the killed edge`);
    const got2 = await expectExactlyOnce(env, e2, user, expected, `HTTP round ${round} on the other edge`);
    for (const got of [got1, got2]) assert.deepEqual(got.map((f) => f.id).sort(), [...r.json.ids].sort(), 'the ids of the 201');
  }
});
