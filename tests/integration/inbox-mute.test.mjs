// Mute settings. Bob, on e1, sends {"op":"settings","mute":["remind:liked"]}; the reply is ok with the
// list. The edge publishes {"mute":[..],"ts":MS} retained to mqedge/v1/user/bob/settings: a subscriber
// arriving afterwards still reads it (retain flag set), and a third edge started later with an empty data
// dir learns it from there. Once e2 has it (its settings op returns the list), a remind/liked for bob is
// not pushed to his tab on e2 and not counted unread, while a remind/commented is; inbox lists the liked
// one with read:true. Then mute ["remind","announcement"]: reminds of any action and announcements stop
// for bob, mailbox messages still come, and alice still gets the announcement. A stale settings message
// (older ts) published by someone else does not override the newer one. Bad entries are bad_request.
import assert from 'node:assert/strict';
import { scenario, topics, waitFor } from './lib/harness.mjs';
import { inboxCluster, waitInboxSubscribed, watchInboxTopics, inboxPage, inboxAll, backlogOf, untilNotified, remind, mailbox, announcement } from './lib/inbox.mjs';

const muteOn = async (client) => (await client.ok({ op: 'settings' })).mute;
const waitMute = (client, want) =>
  waitFor(async () => JSON.stringify(await muteOn(client)) === JSON.stringify(want), { timeoutMs: 10000, intervalMs: 50, what: `${client.name}: mute = ${JSON.stringify(want)}` });

scenario('settings mute: set on e1, applied on e2 before pushing, retained on the broker', { timeout: 60000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await inboxCluster(env, 2);
  await watchInboxTopics(env, broker);
  const backend = await env.mqtt(broker, { name: 'backend' });
  const onB = await env.connect(e2, { user: 'bob' });
  const onA = await env.connect(e1, { user: 'bob' });
  assert.deepEqual(await muteOn(onA), [], 'no settings yet: an empty list');

  const set = await onA.ok({ op: 'settings', mute: ['remind:liked'] });
  assert.deepEqual(set.mute, ['remind:liked']);
  assert.deepEqual(await muteOn(onA), ['remind:liked']);

  // Retained on the broker, for whoever subscribes later.
  const later = await env.mqtt(broker, { name: 'late-subscriber' });
  await later.sub(topics.settings('bob'));
  const retained = await later.next((m) => m.topic === topics.settings('bob'), 10000, 'the retained settings');
  assert.equal(retained.retain, true, 'settings are retained');
  assert.deepEqual(retained.json.mute, ['remind:liked']);
  assert.equal(typeof retained.json.ts, 'number');

  await waitMute(onB, ['remind:liked']);
  await backend.pub(topics.notify('bob'), remind({ id: 'liked1', action: 'liked' }));
  await backend.pub(topics.notify('bob'), remind({ id: 'commented1', action: 'commented' }));
  await untilNotified(onB, ['commented1']);
  await untilNotified(onA, ['commented1']);
  for (const c of [onA, onB]) await c.none((f) => f.op === 'notify' && f.id === 'liked1', 300, 'muted notification');
  for (const c of [onA, onB]) {
    const page = await inboxPage(c);
    assert.deepEqual(page.items.map((x) => [x.id, x.read]), [['commented1', false], ['liked1', true]], `${c.name}: the muted one is listed, read`);
    assert.equal(page.unread, 1, `${c.name}: the muted one is not counted unread`);
  }
  const fresh = await env.connect(e2, { user: 'bob', name: 'bob-new' });
  assert.equal(fresh.welcome.unread, 1);
  assert.deepEqual((await backlogOf(fresh)).pushed.map((f) => f.id), ['commented1']);

  // A third edge, started now with an empty data dir, learns the settings from the retained message.
  const e3 = await env.startEdge({ id: 'e3' });
  await waitInboxSubscribed(broker, e3);
  const onC = await env.connect(e3, { user: 'bob' });
  await waitMute(onC, ['remind:liked']);

  // Kinds: all reminds and announcements.
  const alice = await env.connect(e2, { user: 'alice' });
  assert.deepEqual((await onB.ok({ op: 'settings', mute: ['remind', 'announcement'] })).mute, ['remind', 'announcement']);
  await waitMute(onA, ['remind', 'announcement']);
  await backend.pub(topics.notify('bob'), remind({ id: 'commented2', action: 'commented' }));
  await backend.pub(topics.notifyAll(), announcement({ id: 'ann1' }));
  await backend.pub(topics.notify('bob'), mailbox({ id: 'mail1' }));
  await untilNotified(alice, ['ann1'], 10000, 'alice gets the announcement');
  for (const c of [onA, onB]) {
    await untilNotified(c, ['mail1']);
    await c.none((f) => f.op === 'notify' && f.id === 'commented2', 300, 'a muted kind');
    const { items } = await inboxAll(c);
    const readOf = Object.fromEntries(items.map((x) => [x.id, x.read]));
    assert.deepEqual([readOf.mail1, readOf.commented2, readOf.commented1, readOf.liked1], [false, true, false, true], `${c.name}: read flags`);
  }

  // A stale settings message (older ts) does not win. zed's settings, published after it on the same
  // broker session, tell when e2 has processed it.
  await backend.pub(topics.settings('bob'), { mute: [], ts: 1 }, { retain: false });
  await backend.pub(topics.settings('zed'), { mute: ['mailbox'], ts: Date.now() }, { retain: false });
  const zed = await env.connect(e2, { user: 'zed' });
  await waitMute(zed, ['mailbox']);
  assert.deepEqual(await muteOn(onB), ['remind', 'announcement'], 'the newest ts wins');

  for (const mute of [['nope'], ['remind:'], ['remind:a b'], [5], 'remind'])
    await onA.err({ op: 'settings', mute }, 'bad_request', { raw: true });
  assert.deepEqual(await muteOn(onA), ['remind', 'announcement'], 'refused settings change nothing');

  // Last (so that a failure here hides nothing above): the muted announcement.
  for (const c of [onA, onB]) {
    await c.none((f) => f.op === 'notify' && f.id === 'ann1', 100, 'a muted announcement');
    const { items, unread } = await inboxAll(c);
    assert.deepEqual(items.find((x) => x.id === 'ann1')?.read, true, `${c.name}: the muted announcement is listed, read`);
    assert.equal(unread, 2, `${c.name}: muted ones are not unread (mail1, commented1)`);
  }
});
