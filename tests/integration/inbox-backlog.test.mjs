// Bob was online on edge e1 and left. While he is away a backend publishes notifications for him over
// MQTT (QoS 1) to mqedge/v1/user/bob/notify -- reminds and mailbox messages, plus an announcement to
// mqedge/v1/notify/all. Bob comes back on the OTHER edge, e2: its welcome says unread = N, then exactly
// those N notifications arrive as notify frames, oldest first (publish order), read:false, then
// {"op":"backlog","count":N,"more":false}, and nothing else in between.
// Then the seam: the backend publishes in a tight loop while bob opens three more tabs at different
// moments (on e2, e1, e2). Every tab must end up with the whole sequence -- its backlog followed by the
// live pushes -- exactly once each and in publish order: no gap and no duplicate where backlog meets live.
// A second scenario caps the backlog (--inbox-backlog 3 on e2): 3 pushed, more:true, the rest by paging;
// another caps it by size: with --outq-max-bytes 65536, twenty 4 KB notifications are not all pushed --
// at most half of the out-queue limit (32768 bytes) goes out, then more:true, and the client stays.
// A third: welcome.unread is 0 (and no backlog frame) for a user with nothing unread, null for anonymous
// and device sessions, whose inbox ops are refused.
import assert from 'node:assert/strict';
import { scenario, topics, counts, nowSec } from './lib/harness.mjs';
import { inboxCluster, waitStored, backlogOf, notifies, inboxAll, remind, mailbox, announcement } from './lib/inbox.mjs';

scenario('offline user: welcome.unread, backlog in publish order on the other edge, no gap or duplicate at the seam', { timeout: 90000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await inboxCluster(env, 2);
  const backend = await env.mqtt(broker, { name: 'backend' });

  // Bob is online on e1 for a moment, with nothing waiting.
  const first = await env.connect(e1, { user: 'bob' });
  assert.equal(first.welcome.unread, 0, 'nothing unread yet');
  first.close();
  await first.waitClose();

  // Away: six notifications (no id: the edges derive one from the content), one announcement.
  const published = []; // data.n in publish order
  let n = 0;
  const pubOne = async (topic, body) => {
    const k = ++n;
    await backend.pub(topic, { ...body, data: { n: k } });
    published.push(k);
  };
  for (let i = 0; i < 3; i++) await pubOne(topics.notify('bob'), remind({ action: i % 2 ? 'liked' : 'commented' }));
  await pubOne(topics.notifyAll(), announcement());
  for (let i = 0; i < 3; i++) await pubOne(topics.notify('bob'), mailbox());
  const N = published.length;
  await waitStored(e2, N);

  const bob = await env.connect(e2, { user: 'bob', name: 'bob-back' });
  assert.equal(bob.welcome.unread, N, 'welcome.unread counts what arrived while away');
  const { pushed, backlog } = await backlogOf(bob);
  assert.deepEqual(pushed.map((f) => f.op), Array(N).fill('notify'), 'only notify frames between welcome and backlog');
  assert.deepEqual(pushed.map((f) => f.data.n), published, 'oldest first, in publish order');
  for (const f of pushed) {
    assert.equal(f.read, false);
    assert.match(f.id, /^h[0-9a-f]{32}$/, 'an id derived from topic and payload');
  }
  assert.deepEqual(backlog, { op: 'backlog', count: N, more: false });
  assert.equal(pushed.filter((f) => f.kind === 'announcement').length, 1);
  assert.equal(new Set(pushed.map((f) => f.id)).size, N, 'distinct ids');
  bob.close();
  await bob.waitClose();

  // The seam. The backend publishes without pause; three tabs connect while it does.
  let stop = false;
  const loop = (async () => {
    while (!stop) await pubOne(topics.notify('bob'), remind({ object_id: `p${n + 1}` }));
  })();
  const afterPublished = (k) => new Promise((resolve) => {
    const t = setInterval(() => {
      if (published.length >= k) {
        clearInterval(t);
        resolve();
      }
    }, 2);
  });
  const tabs = [];
  try {
    for (const [edge, k] of [[e2, N + 5], [e1, N + 20], [e2, N + 40]]) {
      await afterPublished(k);
      tabs.push(await env.connect(edge, { user: 'bob', name: `bob-tab${tabs.length + 1}` }));
    }
    await afterPublished(published.length + 30); // live ones well past the last connect
  } finally {
    stop = true;
    await loop;
  }

  for (const tab of tabs) {
    const { pushed: bl, backlog: b } = await backlogOf(tab);
    assert.equal(tab.welcome.unread, bl.length, `${tab.name}: welcome.unread = notifications pushed before backlog`);
    assert.deepEqual(b, { op: 'backlog', count: bl.length, more: false }, `${tab.name}: backlog frame`);
    assert.ok(bl.length >= N + 5, `${tab.name}: the backlog holds what was published before it connected (${bl.length})`);
  }
  const ids = new Map(); // n -> id, the same on every tab and edge
  for (const tab of tabs) {
    await tab.until((c) => notifies(c).some((f) => f.data?.n === published[published.length - 1]), 15000, `${tab.name}: the last notification`);
    await tab.none(() => false, 300); // room for a late duplicate to show up
    const got = notifies(tab).map((f) => f.data.n);
    const dups = [...counts(got)].filter(([, c]) => c > 1).map(([k]) => k);
    assert.deepEqual(dups, [], `${tab.name}: duplicates`);
    const missing = published.filter((k) => !got.includes(k));
    assert.deepEqual(missing, [], `${tab.name}: gaps`);
    assert.deepEqual(got, published, `${tab.name}: the whole sequence, in publish order`);
    assert.ok(got.length > tab.welcome.unread, `${tab.name}: live pushes followed the backlog`);
    for (const f of notifies(tab)) {
      if (!ids.has(f.data.n)) ids.set(f.data.n, f.id);
      assert.equal(f.id, ids.get(f.data.n), `notification ${f.data.n}: same id on every edge`);
    }
  }
});

scenario('--inbox-backlog 3: three pushed, more:true, the rest by paging', { timeout: 60000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await inboxCluster(env, 2, { perEdge: [[], ['--inbox-backlog', '3']] });
  const backend = await env.mqtt(broker, { name: 'backend' });
  const ids = [];
  for (let i = 1; i <= 5; i++) {
    const id = `cap-${i}`;
    await backend.pub(topics.notify('bob'), mailbox({ id, data: { i } }));
    ids.push(id);
  }
  await waitStored(e1, 5);
  await waitStored(e2, 5);

  const capped = await env.connect(e2, { user: 'bob', name: 'bob-capped' });
  assert.equal(capped.welcome.unread, 5);
  const c = await backlogOf(capped);
  assert.deepEqual(c.pushed.map((f) => f.id), ids.slice(0, 3), 'the oldest three');
  assert.deepEqual(c.backlog, { op: 'backlog', count: 3, more: true });
  const all = await inboxAll(capped, { limit: 2 });
  assert.deepEqual(all.items.map((x) => x.id), [...ids].reverse(), 'paging reaches the rest');
  assert.equal(all.unread, 5, 'pushing the backlog marks nothing read');

  const full = await env.connect(e1, { user: 'bob', name: 'bob-default' });
  const f = await backlogOf(full);
  assert.deepEqual(f.pushed.map((x) => x.id), ids);
  assert.deepEqual(f.backlog, { op: 'backlog', count: 5, more: false });
});

scenario('--outq-max-bytes 65536: the backlog stops at half of it (32768 bytes), more:true, the connection stays', { timeout: 60000 }, async (env) => {
  const { broker, edges: [, e2] } = await inboxCluster(env, 2, { extra: ['--outq-max-bytes', '65536'] });
  const backend = await env.mqtt(broker, { name: 'backend' });
  const ids = [];
  for (let i = 1; i <= 20; i++) {
    ids.push(`big-${i}`);
    await backend.pub(topics.notify('bob'), mailbox({ id: `big-${i}`, title: 't'.repeat(1000), data: { pad: 'p'.repeat(3000), i } }));
  }
  await waitStored(e2, 20);
  const bob = await env.connect(e2, { user: 'bob' });
  assert.equal(bob.welcome.unread, 20);
  const { pushed, backlog } = await backlogOf(bob);
  const bytes = pushed.reduce((sum, f) => sum + Buffer.byteLength(JSON.stringify(f)), 0);
  assert.ok(pushed.length > 0 && pushed.length < 20, `some, not all (${pushed.length})`);
  assert.deepEqual(pushed.map((f) => f.id), ids.slice(0, pushed.length), 'oldest first');
  assert.deepEqual(backlog, { op: 'backlog', count: pushed.length, more: true });
  // (pages of 5: one reply larger than outq-max-bytes would itself close the connection with 4002)
  const { items } = await inboxAll(bob, { limit: 5 });
  const rest = items.filter((x) => !pushed.some((f) => f.id === x.id));
  assert.deepEqual(rest.map((x) => x.id), ids.slice(pushed.length).reverse(), 'the rest by paging (newest first)');
  await bob.ok({ op: 'ping' });
  assert.equal(bob.closed, null, 'the backlog did not overflow the out-queue');
  assert.ok(bytes <= 32768, `the backlog is at most half of outq-max-bytes: ${pushed.length} notifications, ${bytes} bytes`);
});

scenario('welcome.unread: 0 without a backlog frame; null for anonymous and device sessions, whose inbox ops are refused', { timeout: 60000 }, async (env) => {
  const { edges: [e1, e2] } = await inboxCluster(env, 2, { extra: ['--allow-anonymous'] });
  const alice = await env.connect(e1, { user: 'alice' });
  assert.equal(alice.welcome.unread, 0);
  await alice.none((f) => f.op === 'backlog' || f.op === 'notify', 400, 'backlog frame with nothing unread');
  const page = await alice.request({ op: 'inbox' });
  assert.deepEqual(page, { op: 'inbox', ref: page.ref, items: [], unread: 0, more: false });

  const anon = await env.connect(e2, { name: 'anon' });
  assert.equal(anon.welcome.unread, null, 'anonymous: unread is null');
  for (const op of [{ op: 'inbox' }, { op: 'read', all: true }, { op: 'read', ids: ['x1'] }, { op: 'settings' }, { op: 'settings', mute: ['remind'] }])
    await anon.err(op, 'forbidden');

  const dev = await env.connect(e1, { claims: { sub: 'd7', kind: 'device', exp: nowSec() + 3600 }, name: 'd7' });
  assert.equal(dev.welcome.unread, null, 'device: unread is null');
  // Inbox ops are for users only; for a device connection they are not among its ops (section 3).
  for (const op of [{ op: 'inbox' }, { op: 'read', all: true }, { op: 'settings' }]) await dev.err(op, 'unknown_op');
});
