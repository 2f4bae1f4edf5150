// Paging through the inbox across edges. Bob gets twelve notifications over MQTT without ids (each edge
// derives the same id from topic and payload), an announcement in the middle, and two more through the
// HTTP API of e1 (ids assigned by e1). {"op":"inbox","limit":5} on e1 gives the newest five and more:true;
// the id of the last item, used as `before` on e2, gives the next five there -- the cursor is an id, so
// it works on any edge -- and so on until more:false. Every page is newest first with no overlap, the
// pages together are the whole inbox, the default limit is 50, limit is exact at the boundary (13 of 13:
// more false, 12 of 13: more true), and a limit outside 1-1000 is bad_request.
import assert from 'node:assert/strict';
import { scenario, topics } from './lib/harness.mjs';
import { inboxCluster, waitStored, inboxPage, api, remind, mailbox, announcement, API_KEY } from './lib/inbox.mjs';

scenario('inbox paging: newest first, before cursor across edges, limit, more', { timeout: 60000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await inboxCluster(env, 2, { extra: ['--api-key', API_KEY] });
  const backend = await env.mqtt(broker, { name: 'backend' });
  const order = []; // tags in arrival order
  for (let i = 1; i <= 12; i++) {
    await backend.pub(topics.notify('bob'), remind({ object_id: `obj-${i}`, data: { tag: `m${i}` } }));
    order.push(`m${i}`);
    if (i === 6) {
      await backend.pub(topics.notifyAll(), announcement({ data: { tag: 'ann' } }));
      order.push('ann');
    }
  }
  await waitStored(e1, 13);
  await waitStored(e2, 13);
  for (const tag of ['h1', 'h2']) {
    const r = await api(env, e1, mailbox({ to: ['bob'], data: { tag } }));
    assert.equal(r.status, 201, r.body);
    order.push(tag);
  }
  await waitStored(e2, 15);
  const newestFirst = [...order].reverse();

  const on1 = await env.connect(e1, { user: 'bob' });
  const on2 = await env.connect(e2, { user: 'bob' });

  // Walk the pages, alternating edges.
  const seen = [];
  let before;
  let pages = 0;
  for (;;) {
    const c = pages % 2 ? on2 : on1;
    const page = await inboxPage(c, before ? { limit: 5, before } : { limit: 5 });
    pages++;
    assert.ok(page.items.length <= 5, 'at most limit items');
    assert.equal(page.unread, 15);
    seen.push(...page.items);
    if (!page.more) break;
    assert.equal(page.items.length, 5, 'a page with more is full');
    before = page.items[page.items.length - 1].id;
    assert.ok(pages < 10, 'paging ends');
  }
  assert.equal(pages, 3);
  assert.deepEqual(seen.map((x) => x.data.tag), newestFirst, 'pages are newest first, without overlap or gap');
  for (const x of seen) assert.equal(x.read, false);
  const idOf = new Map(seen.map((x) => [x.data.tag, x.id]));
  for (const tag of ['h1', 'h2']) assert.match(idOf.get(tag), /^e1\.[0-9a-z]+\.[0-9a-z]+$/, 'HTTP ids are assigned by e1');

  // An HTTP id and a derived id as cursors on the other edge.
  const afterH1 = await inboxPage(on2, { before: idOf.get('h1'), limit: 3 });
  assert.deepEqual(afterH1.items.map((x) => x.data.tag), ['m12', 'm11', 'm10']);
  assert.equal(afterH1.more, true);
  const afterAnn = await inboxPage(on1, { before: idOf.get('ann') });
  assert.deepEqual(afterAnn.items.map((x) => x.data.tag), ['m6', 'm5', 'm4', 'm3', 'm2', 'm1']);
  assert.equal(afterAnn.more, false);
  const afterLast = await inboxPage(on2, { before: idOf.get('m1') });
  assert.deepEqual([afterLast.items, afterLast.more], [[], false], 'nothing before the oldest');

  // Limits.
  const dflt = await inboxPage(on2);
  assert.equal(dflt.items.length, 15, 'default limit 50 covers everything');
  assert.equal(dflt.more, false);
  assert.deepEqual(dflt.items.map((x) => x.id), seen.map((x) => x.id), 'both edges list the same ids in the same order');
  const exact = await inboxPage(on1, { limit: 15 });
  assert.deepEqual([exact.items.length, exact.more], [15, false]);
  const short = await inboxPage(on1, { limit: 14 });
  assert.deepEqual([short.items.length, short.more], [14, true]);
  assert.equal((await inboxPage(on1, { limit: 1000 })).items.length, 15);
  for (const limit of [0, 1001, -1, 2.5, '5'])
    await on1.err({ op: 'inbox', limit }, 'bad_request', { raw: true });

  // Last (so that a failure here hides nothing above): short pages.
  const one = await inboxPage(on2, { limit: 1 });
  assert.deepEqual([one.items.map((x) => x.data.tag), one.more], [['h2'], true], 'limit 1');
  // A short page right after a full one on the same edge (the new reply is built where the old one was):
  // still exactly `limit` items.
  for (const limit of [1, 2, 3, 4]) {
    await inboxPage(on1, { ref: `full-${limit}` });
    const p = await inboxPage(on1, { ref: `page-${limit}`, limit });
    assert.deepEqual(p.items.map((x) => x.data.tag), newestFirst.slice(0, limit), `limit ${limit} after a full page`);
    assert.equal(p.more, true);
  }
});
