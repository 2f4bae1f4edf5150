// Retention. With --inbox-max-per-user 5, bob gets eight notifications and alice three: pruning (about
// once a second, in slices) leaves bob the newest five on both edges -- inbox lists exactly those, newest
// first, unread 5, and a new tab's backlog is those five -- and leaves alice's three alone. The test waits
// for pruning by polling inbox, never by sleeping.
// With --inbox-max-age 2, a notification whose ts is ten days in the past is stored (bob's open tab gets
// it), then gone on the next prune pass; a current one is listed at first and gone a few seconds later.
import assert from 'node:assert/strict';
import { scenario, topics, waitFor } from './lib/harness.mjs';
import { inboxCluster, waitStored, inboxPage, backlogOf, untilNotified, remind, mailbox } from './lib/inbox.mjs';

const idsOf = (page) => page.items.map((x) => x.id);

scenario('--inbox-max-per-user 5: the newest five stay, on both edges', { timeout: 60000 }, async (env) => {
  const { broker, edges } = await inboxCluster(env, 2, { extra: ['--inbox-max-per-user', '5'] });
  const backend = await env.mqtt(broker, { name: 'backend' });
  const bobIds = [];
  for (let i = 1; i <= 8; i++) {
    bobIds.push(`k${i}`);
    await backend.pub(topics.notify('bob'), remind({ id: `k${i}`, object_id: `o${i}` }));
  }
  for (let i = 1; i <= 3; i++) await backend.pub(topics.notify('alice'), mailbox({ id: `a${i}` }));
  const newest5 = bobIds.slice(-5).reverse();
  for (const e of edges) await waitStored(e, 11);

  for (const e of edges) {
    const bob = await env.connect(e, { user: 'bob' });
    const page = await waitFor(
      async () => {
        const p = await inboxPage(bob);
        return idsOf(p).length <= 5 ? p : null;
      },
      { timeoutMs: 15000, intervalMs: 100, what: `${e.name}: bob's inbox pruned to 5` },
    );
    assert.deepEqual(idsOf(page), newest5, `${e.name}: the newest five, newest first`);
    assert.deepEqual([page.unread, page.more], [5, false]);
    const alice = await env.connect(e, { user: 'alice' });
    assert.deepEqual(idsOf(await inboxPage(alice)), ['a3', 'a2', 'a1'], `${e.name}: another user's inbox is not touched`);
    const tab = await env.connect(e, { user: 'bob', name: 'bob-tab' });
    assert.equal(tab.welcome.unread, 5);
    const { pushed, backlog } = await backlogOf(tab);
    assert.deepEqual(pushed.map((f) => f.id), [...newest5].reverse(), 'the backlog is what is left, oldest first');
    assert.deepEqual(backlog, { op: 'backlog', count: 5, more: false });
  }
});

scenario('--inbox-max-age 2: a notification ten days old is pruned on the next pass, a fresh one a few seconds later', { timeout: 60000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await inboxCluster(env, 2, { extra: ['--inbox-max-age', '2'] });
  const backend = await env.mqtt(broker, { name: 'backend' });
  const tabs = [await env.connect(e1, { user: 'bob' }), await env.connect(e2, { user: 'bob' })];
  const tenDaysAgo = Date.now() - 10 * 24 * 3600 * 1000;
  await backend.pub(topics.notify('bob'), mailbox({ id: 'fresh', title: 'now' }));
  await backend.pub(topics.notify('bob'), mailbox({ id: 'old', ts: tenDaysAgo, title: 'ten days ago' }));
  for (const t of tabs) {
    await untilNotified(t, ['fresh', 'old'], 10000, 'both pushed live (so both were stored)');
    assert.equal(t.all.find((f) => f.id === 'old').ts, tenDaysAgo, 'the given ts is kept');
  }
  // The fresh one is listed while it is younger than 2 s.
  const first = await inboxPage(tabs[1]);
  assert.ok(idsOf(first).includes('fresh'), `fresh listed at first: ${idsOf(first)}`);

  for (const t of tabs) {
    await waitFor(async () => !idsOf(await inboxPage(t)).includes('old'), { timeoutMs: 10000, intervalMs: 100, what: `${t.name}: old pruned` });
  }
  for (const t of tabs) {
    const p = await waitFor(
      async () => {
        const pg = await inboxPage(t);
        return pg.items.length === 0 ? pg : null;
      },
      { timeoutMs: 15000, intervalMs: 200, what: `${t.name}: fresh pruned after max-age` },
    );
    assert.deepEqual([p.unread, p.more], [0, false]);
  }
  const later = await env.connect(e2, { user: 'bob', name: 'bob-later' });
  assert.equal(later.welcome.unread, 0, 'nothing left unread');
  await later.none((f) => f.op === 'notify' || f.op === 'backlog', 300);
});
