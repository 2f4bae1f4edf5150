// Direct messages. Bob is connected twice: once to edge e1 and once to edge e2. Alice, on e1, sends
// Bob a direct message: each of Bob's connections receives it exactly once, as a msg with to=bob,
// from=alice and the id/ts from Alice's ok; Alice herself receives nothing, and neither does Carol, who
// shares Bob's edge. A second round goes from Carol on e2. Sending to a user with no connection anywhere
// is still ok (the message is on the fabric; nobody is listening).
import assert from 'node:assert/strict';
import { scenario, topics } from './lib/harness.mjs';

scenario('direct messages reach every connection of the user on every edge, once', { timeout: 60000 }, async (env) => {
  const { edges: [e1, e2] } = await env.cluster(2);
  const bob1 = await env.connect(e1, { user: 'bob', name: 'bob-1' });
  const bob2 = await env.connect(e2, { user: 'bob', name: 'bob-2' });
  const alice = await env.connect(e1, { user: 'alice' });
  const carol = await env.connect(e2, { user: 'carol' });
  assert.equal(bob1.welcome.user, 'bob');
  assert.equal(bob2.welcome.user, 'bob');
  assert.notEqual(bob1.welcome.session, bob2.welcome.session);
  await env.syncTopic(topics.direct('bob'), [bob1, bob2]);

  for (const [sender, tag] of [[alice, 'from-alice'], [carol, 'from-carol']]) {
    const ok = await sender.ok({ op: 'send', to: 'bob', data: { tag, text: 'hi bob' } });
    assert.equal(typeof ok.id, 'string');
    assert.ok(Number.isInteger(ok.ts));
    for (const b of [bob1, bob2]) {
      const m = await b.next((f) => f.op === 'msg' && f.data?.tag === tag, 10000, `direct message ${tag}`);
      assert.equal(m.to, 'bob');
      assert.equal(m.room, undefined);
      assert.equal(m.from, sender.user);
      assert.equal(m.id, ok.id);
      assert.equal(m.ts, ok.ts);
      assert.deepEqual(m.data, { tag, text: 'hi bob' });
    }
  }
  // No duplicates, and nobody else got anything.
  for (const b of [bob1, bob2]) await b.none((f) => f.op === 'msg', 400, 'duplicate direct message');
  await alice.none((f) => f.op === 'msg', 100, 'direct message at the sender');
  await carol.none((f) => f.op === 'msg', 100, 'direct message at a bystander');

  const nobody = await alice.ok({ op: 'send', to: 'nobody-home', data: 1 });
  assert.equal(typeof nobody.id, 'string');
});
