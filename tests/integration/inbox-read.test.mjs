// Read on one edge is read everywhere. Six notifications and one announcement wait for bob on both
// edges. Bob has a tab on e2; on e1 he marks three of them read ({"op":"read","ids":[..]}; the reply is
// ok with the new unread count). The edge publishes {"ids":[..],"ts":MS} to mqedge/v1/user/bob/read
// (checked against its schema by an MQTT watcher), e2 applies it and tells bob's tab there
// {"op":"read","ids":[..]}. A new tab on e2 then sees unread = 4 and only the four unread ones in its
// backlog; inbox lists the three as read:true. Marking the announcement read is bob's alone: alice still
// has it unread. Then {"op":"read","all":true} on e2: the e1 tab hears {"op":"read","all":true,"ts":MS},
// a new tab on e1 has nothing unread and no backlog, and a notification that arrives afterwards is unread.
import assert from 'node:assert/strict';
import { scenario, topics } from './lib/harness.mjs';
import { inboxCluster, waitStored, watchInboxTopics, backlogOf, inboxAll, untilNotified, remind, announcement } from './lib/inbox.mjs';

scenario('read on e1 is read on e2: ids, all, events to other tabs, MQTT read payloads', { timeout: 60000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await inboxCluster(env, 2);
  const watch = await watchInboxTopics(env, broker);
  const backend = await env.mqtt(broker, { name: 'backend' });
  const ids = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
  for (const id of ids) await backend.pub(topics.notify('bob'), remind({ id, object_id: id }));
  await backend.pub(topics.notifyAll(), announcement({ id: 'a1' }));
  const all = [...ids, 'a1'];
  for (const e of [e1, e2]) await waitStored(e, 7);

  const tabB = await env.connect(e2, { user: 'bob', name: 'bob-tabB' });
  assert.equal(tabB.welcome.unread, 7);
  assert.deepEqual((await backlogOf(tabB)).pushed.map((f) => f.id), all);
  const tabA = await env.connect(e1, { user: 'bob', name: 'bob-tabA' });
  assert.equal(tabA.welcome.unread, 7);

  // Mark three read on e1.
  const marked = ['r1', 'r2', 'a1'];
  const ok = await tabA.ok({ op: 'read', ids: marked });
  assert.equal(ok.unread, 4, 'ok carries the new unread count');
  const ev = await tabB.next((f) => f.op === 'read', 10000, 'read event on the other edge');
  assert.deepEqual([...ev.ids].sort(), [...marked].sort());
  assert.equal('all' in ev, false);
  const wire = await watch.next((m) => m.topic === topics.read('bob') && Array.isArray(m.json?.ids), 10000, 'read payload on MQTT');
  assert.deepEqual([...wire.json.ids].sort(), [...marked].sort());
  assert.equal(typeof wire.json.ts, 'number');
  assert.equal(wire.retain, false, 'read marks are not retained');

  // A new tab on e2: only the unread ones.
  const tabC = await env.connect(e2, { user: 'bob', name: 'bob-tabC' });
  assert.equal(tabC.welcome.unread, 4, 'read on e1 is read on e2');
  const c = await backlogOf(tabC);
  assert.deepEqual(c.pushed.map((f) => f.id), ['r3', 'r4', 'r5', 'r6']);
  assert.deepEqual(c.backlog, { op: 'backlog', count: 4, more: false });
  const listed = await inboxAll(tabC);
  assert.equal(listed.unread, 4);
  assert.deepEqual(listed.items.map((x) => x.id), [...all].reverse(), 'inbox still lists read ones, newest first');
  for (const x of listed.items) assert.equal(x.read, marked.includes(x.id), `${x.id} read flag`);

  // The announcement is read for bob only.
  const alice = await env.connect(e2, { user: 'alice' });
  assert.equal(alice.welcome.unread, 1, 'alice still has the announcement unread');
  assert.deepEqual((await backlogOf(alice)).pushed.map((f) => f.id), ['a1']);

  // Everything, from e2; the e1 tab hears it.
  const okAll = await tabB.ok({ op: 'read', all: true });
  assert.equal(okAll.unread, 0);
  const evAll = await tabA.next((f) => f.op === 'read' && f.all === true, 10000, 'read-all event on e1');
  assert.equal(typeof evAll.ts, 'number');
  const wireAll = await watch.next((m) => m.topic === topics.read('bob') && m.json?.all === true, 10000, 'read-all payload on MQTT');
  assert.equal(wireAll.json.ts, evAll.ts, 'the event carries the ts of the mark');
  const tabD = await env.connect(e1, { user: 'bob', name: 'bob-tabD' });
  assert.equal(tabD.welcome.unread, 0, 'read all on e2 is read all on e1');
  await tabD.none((f) => f.op === 'notify' || f.op === 'backlog', 400, 'backlog after read all');
  for (const x of (await inboxAll(tabD)).items) assert.equal(x.read, true, `${x.id} read on e1`);
  assert.equal((await inboxAll(alice)).unread, 1, "bob's read all leaves alice's announcement unread");

  // What arrives after the mark is unread.
  await backend.pub(topics.notify('bob'), remind({ id: 'r7', object_id: 'r7' }));
  await untilNotified(tabD, ['r7']);
  const after = await tabD.ok({ op: 'inbox', limit: 1 });
  assert.deepEqual([after.items[0].id, after.items[0].read, after.unread], ['r7', false, 1]);
});
