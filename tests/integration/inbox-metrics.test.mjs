// /metrics and the inbox. Both edges' /metrics parse as Prometheus text (format 0.0.4: HELP/TYPE lines,
// one TYPE per metric before its samples, numeric values, no negative counter) and carry the inbox
// series: mqedge_store_up 1, the counters typed counter. Bob has a tab on each edge. Three notifications
// over MQTT: mqedge_inbox_stored_total +3 and mqedge_notifications_pushed_total +3 on each edge; a second
// tab on e2 gets them as backlog, +3 more pushed there. The same payload published twice (no id) is one
// notification -- one push, an id derived from the content that both edges agree on -- and
// mqedge_inbox_duplicates_total +1. Malformed MQTT notifications (not JSON, missing per-kind fields, an
// unknown kind, a bad id, not an object) are counted in mqedge_notifications_rejected_total and reach no
// one. An HTTP request moves mqedge_api_requests_total. Last, a payload that is JSON followed by garbage
// is not JSON either: rejected, not stored.
import assert from 'node:assert/strict';
import { scenario, topics } from './lib/harness.mjs';
import { inboxCluster, metrics, metric, api, untilNotified, notifies, waitStored, remind, mailbox, API_KEY } from './lib/inbox.mjs';

const INBOX_COUNTERS = [
  'mqedge_inbox_stored_total',
  'mqedge_inbox_duplicates_total',
  'mqedge_notifications_pushed_total',
  'mqedge_notifications_received_total',
  'mqedge_notifications_rejected_total',
  'mqedge_store_errors_total',
  'mqedge_api_requests_total',
];

scenario('/metrics parses as Prometheus text and the inbox counters move', { timeout: 60000 }, async (env) => {
  const { broker, edges } = await inboxCluster(env, 2, { perEdge: [['--api-key', API_KEY]] });
  const [e1, e2] = edges;
  const before = {};
  for (const e of edges) {
    const m = await metrics(e);
    assert.equal(m.get('mqedge_store_up'), 1, `${e.name}: store up`);
    assert.equal(m.types.get('mqedge_store_up'), 'gauge');
    for (const name of INBOX_COUNTERS) {
      assert.ok(m.has(name), `${e.name}: ${name} present`);
      assert.equal(m.types.get(name), 'counter', `${name} is a counter`);
    }
    assert.equal(m.get('mqedge_store_errors_total'), 0);
    before[e.id] = m;
  }
  const delta = async (e, name) => (await metric(e, name)) - before[e.id].get(name);

  const backend = await env.mqtt(broker, { name: 'backend' });
  const t1 = await env.connect(e1, { user: 'bob', name: 'bob-1' });
  const t2 = await env.connect(e2, { user: 'bob', name: 'bob-2' });
  const ids = ['mt1', 'mt2', 'mt3'];
  for (const id of ids) await backend.pub(topics.notify('bob'), remind({ id }));
  for (const t of [t1, t2]) await untilNotified(t, ids);
  for (const e of edges) {
    assert.equal(await delta(e, 'mqedge_inbox_stored_total'), 3, `${e.name}: stored +3`);
    assert.equal(await delta(e, 'mqedge_notifications_pushed_total'), 3, `${e.name}: pushed +3`);
    assert.equal(await delta(e, 'mqedge_notifications_received_total'), 3, `${e.name}: received +3`);
  }
  const t3 = await env.connect(e2, { user: 'bob', name: 'bob-3' });
  await untilNotified(t3, ids);
  assert.equal(await delta(e2, 'mqedge_notifications_pushed_total'), 6, 'e2: the backlog of a new tab counts as pushed');

  // The same payload twice, without id.
  const twice = mailbox({ title: 'said twice', data: { once: true } });
  await backend.pub(topics.notify('bob'), twice);
  await backend.pub(topics.notify('bob'), twice);
  await backend.pub(topics.notify('bob'), mailbox({ id: 'after-twice' }));
  for (const t of [t1, t2, t3]) await untilNotified(t, ['after-twice']);
  const derived = [t1, t2, t3].map((t) => notifies(t).filter((f) => f.title === 'said twice'));
  for (const d of derived) assert.equal(d.length, 1, 'published twice, pushed once');
  assert.match(derived[0][0].id, /^h[0-9a-f]{32}$/);
  assert.equal(derived[1][0].id, derived[0][0].id, 'both edges derive the same id');
  for (const e of edges) {
    assert.equal(await delta(e, 'mqedge_inbox_duplicates_total'), 1, `${e.name}: one duplicate`);
    assert.equal(await delta(e, 'mqedge_inbox_stored_total'), 5, `${e.name}: stored once`);
  }

  // Malformed notifications: counted, stored nowhere, pushed to no one.
  const malformed = [
    'not json',
    JSON.stringify({ kind: 'remind', object_type: 'post', object_id: '1', data: { bad: 1 } }),
    JSON.stringify({ kind: 'mailbox', title: 'no actor', data: { bad: 2 } }),
    JSON.stringify({ kind: 'alert', data: { bad: 3 } }),
    JSON.stringify(mailbox({ id: 'a b', data: { bad: 4 } })),
    JSON.stringify(mailbox({ title: 'x'.repeat(1025), data: { bad: 5 } })),
    JSON.stringify([mailbox({ data: { bad: 6 } })]),
    '',
  ];
  for (const p of malformed) await backend.pub(topics.notify('bob'), p);
  await backend.pub(topics.notify('bob'), mailbox({ id: 'after-bad' }));
  for (const t of [t1, t2]) await untilNotified(t, ['after-bad']);
  for (const e of edges) {
    assert.equal(await delta(e, 'mqedge_notifications_rejected_total'), malformed.length, `${e.name}: rejected`);
    assert.equal(await delta(e, 'mqedge_inbox_stored_total'), 6, `${e.name}: nothing malformed stored`);
  }
  for (const t of [t1, t2]) assert.deepEqual(notifies(t).filter((f) => f.data?.bad), [], `${t.name}: nothing malformed pushed`);

  // HTTP.
  const r = await api(env, e1, mailbox({ to: ['bob'], data: { via: 'http' } }));
  assert.equal(r.status, 201, r.body);
  assert.equal(await delta(e1, 'mqedge_api_requests_total'), 1);
  await waitStored(e2, before.e2.get('mqedge_inbox_stored_total') + 7);
  for (const e of edges) assert.equal(await delta(e, 'mqedge_store_errors_total'), 0, `${e.name}: no store errors`);

  // JSON followed by garbage.
  await backend.pub(topics.notify('bob'), `${JSON.stringify(mailbox({ id: 'trailing', data: { bad: 7 } }))} garbage`);
  await backend.pub(topics.notify('bob'), mailbox({ id: 'after-trailing' }));
  await untilNotified(t1, ['after-trailing']);
  assert.deepEqual(notifies(t1).filter((f) => f.id === 'trailing'), [], 'JSON followed by garbage is not a notification');
  assert.equal(await delta(e1, 'mqedge_notifications_rejected_total'), malformed.length + 1);
});
