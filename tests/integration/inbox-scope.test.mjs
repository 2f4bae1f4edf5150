// --inbox-scope served: an edge stores notifications only for users who have connected to it (e1 keeps the
// default, all). Bob visits e2 once and leaves; e2 now follows him (its inbox session subscribes to
// mqedge/v1/user/bob/notify -- seen in the broker's log). Notifications then arrive for bob and for carol,
// who never was on e2: e1 stores both, e2 only bob's. Carol's first visit to e2 finds nothing unread there
// (she still has it on e1); from then on e2 follows her too and her next notification reaches her live on
// e2. Announcements reach everyone on e2 regardless. e2 is SIGKILLed and a notification for bob arrives
// while it is down: after the restart (same data dir) it still follows bob and has it.
import assert from 'node:assert/strict';
import { scenario, topics, waitFor, PREFIX } from './lib/harness.mjs';
import { waitInboxSubscribed, waitStored, backlogOf, untilNotified, inboxPage, mailbox, announcement } from './lib/inbox.mjs';

// The broker's log shows edge's inbox session subscribing to topic (after log line `since`).
const waitSubscribed = (broker, edge, topic, since = 0) =>
  waitFor(() => broker.proc.lines.slice(since).some((l) => l.includes(`: mqedge-${edge.id}-inbox 1 ${topic}`)), {
    timeoutMs: 15000,
    intervalMs: 25,
    what: `mqedge-${edge.id}-inbox subscribed to ${topic}`,
  });

scenario('--inbox-scope served: an edge stores notifications only for users who connected to it', { timeout: 60000 }, async (env) => {
  const broker = await env.startBroker();
  const e1 = await env.startEdge({ id: 'e1', broker });
  const e2 = await env.startEdge({ id: 'e2', broker, extra: ['--inbox-scope', 'served'] });
  await waitInboxSubscribed(broker, e1);
  await waitSubscribed(broker, e2, `${PREFIX}/notify/all`);
  const backend = await env.mqtt(broker, { name: 'backend' });

  const visit = await env.connect(e2, { user: 'bob', name: 'bob-visit' });
  assert.equal(visit.welcome.unread, 0);
  await waitSubscribed(broker, e2, topics.notify('bob'));
  visit.close();
  await visit.waitClose();

  await backend.pub(topics.notify('bob'), mailbox({ id: 's-bob-1' }));
  await backend.pub(topics.notify('carol'), mailbox({ id: 's-carol-1' }));
  await backend.pub(topics.notifyAll(), announcement({ id: 's-ann-1' }));
  await waitStored(e1, 3);
  await waitStored(e2, 2); // bob's and the announcement

  const carol = await env.connect(e2, { user: 'carol' });
  assert.equal(carol.welcome.unread, 1, 'only the announcement: carol was not served by e2 before');
  assert.deepEqual((await backlogOf(carol)).pushed.map((f) => f.id), ['s-ann-1']);
  const carolOnE1 = await env.connect(e1, { user: 'carol', name: 'carol-e1' });
  assert.equal(carolOnE1.welcome.unread, 2, 'e1 (scope all) has hers');
  await waitSubscribed(broker, e2, topics.notify('carol'));
  await backend.pub(topics.notify('carol'), mailbox({ id: 's-carol-2' }));
  await untilNotified(carol, ['s-carol-2']);

  const bob = await env.connect(e2, { user: 'bob' });
  assert.equal(bob.welcome.unread, 2);
  assert.deepEqual((await backlogOf(bob)).pushed.map((f) => f.id), ['s-bob-1', 's-ann-1']);
  bob.close();
  await bob.waitClose();

  // Still following bob after a crash and restart.
  await e2.kill('SIGKILL');
  await backend.pub(topics.notify('bob'), mailbox({ id: 's-bob-2' }));
  const since = broker.proc.lines.length;
  await e2.restart();
  await waitSubscribed(broker, e2, topics.notify('bob'), since);
  const back = await env.connect(e2, { user: 'bob', name: 'bob-back' });
  await untilNotified(back, ['s-bob-1', 's-ann-1', 's-bob-2']);
  assert.deepEqual((await inboxPage(back)).items.map((x) => x.id), ['s-bob-2', 's-ann-1', 's-bob-1']);
});
