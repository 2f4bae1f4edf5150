// The inbox part of the contract (PROTOCOL.md section 7) in schemas/: notification.schema.json,
// notification-request.schema.json, inbox-sync.schema.json, and the inbox frames in client-frame and
// edge-frame.schema.json. First, with no server, the forms the protocol gives are accepted and near-misses
// are rejected (per-kind required fields, ids, 1024-character text, unknown fields in a delivered
// notification, read with both ids and all, bad mute entries, 'to' on an announcement). Then a live
// cluster produces every inbox frame and payload -- welcome.unread, notify, backlog, inbox, the read event
// (ids and all), ok with unread and with mute, the MQTT read and settings payloads, the notification an edge
// publishes for an HTTP request, the 201 body and an API error body -- and each is checked against its
// schema. (The harness validates every frame in every test; this makes sure each kind is seen.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scenario, topics } from './lib/harness.mjs';
import {
  checkEdgeFrame, checkClientFrame, checkNotification, checkNotificationIngress, checkNotificationRequest,
  checkNotificationCreated, checkReadSync, checkSettingsSync, checkHttpErrorStatus,
} from './lib/schemas.mjs';
import { inboxCluster, waitStored, api, backlogOf, untilNotified, notifies, remind, mailbox, announcement, API_KEY } from './lib/inbox.mjs';

const valid = (reason, what = '') => assert.equal(reason, null, what);
const invalid = (reason, what = 'expected a schema violation') => assert.notEqual(reason, null, what);
const ts = 1795000000000;

test('notifications from PROTOCOL.md section 7', () => {
  const ok = [
    { id: 'h0123456789abcdef0123456789abcdef', ts, kind: 'announcement' },
    { id: 'e1.k2j3.1a', ts, kind: 'announcement', title: 'Maintenance tonight', data: { at: '22:00' } },
    { id: 'n1', ts, kind: 'remind', action: 'commented', object_type: 'post', object_id: '42', actor: 'carol', title: 'carol commented', data: null },
    { id: 'n2', ts, kind: 'remind', action: 'donated', object_type: 'campaign', object_id: 'any text, even spaces / slashes ✓' },
    { id: 'n3', ts, kind: 'mailbox', actor: 'carol' },
    { id: 'x'.repeat(100), ts: 0, kind: 'mailbox', actor: 'user@example.com', title: '🎉'.repeat(256), data: [1, 'two'] },
  ];
  for (const n of ok) {
    valid(checkNotification(n), JSON.stringify(n).slice(0, 80));
    valid(checkEdgeFrame({ op: 'notify', read: false, ...n }));
    valid(checkEdgeFrame({ op: 'notify', read: true, ...n }));
    valid(checkEdgeFrame({ op: 'inbox', ref: 1, items: [{ read: true, ...n }], unread: 0, more: false }));
  }
  for (const [why, n] of [
    ['remind without action', { id: 'n', ts, kind: 'remind', object_type: 'post', object_id: '1' }],
    ['remind without object_type', { id: 'n', ts, kind: 'remind', action: 'liked', object_id: '1' }],
    ['remind without object_id', { id: 'n', ts, kind: 'remind', action: 'liked', object_type: 'post' }],
    ['mailbox without actor', { id: 'n', ts, kind: 'mailbox' }],
    ['unknown kind', { id: 'n', ts, kind: 'alert' }],
    ['no id', { ts, kind: 'announcement' }],
    ['no ts', { id: 'n', kind: 'announcement' }],
    ['id of 101 characters', { id: 'x'.repeat(101), ts, kind: 'announcement' }],
    ['id with a slash', { id: 'a/b', ts, kind: 'announcement' }],
    ['action not an id', { id: 'n', ts, kind: 'remind', action: 'li ked', object_type: 'post', object_id: '1' }],
    ['actor not an id', { id: 'n', ts, kind: 'mailbox', actor: 'car/ol' }],
    ['object_id a number', { id: 'n', ts, kind: 'remind', action: 'liked', object_type: 'post', object_id: 1 }],
    ['title over 1024 characters', { id: 'n', ts, kind: 'announcement', title: 'x'.repeat(1025) }],
    ['an unknown field (they are dropped)', { id: 'n', ts, kind: 'announcement', to: ['bob'] }],
    ['ts not an integer', { id: 'n', ts: 1.5, kind: 'announcement' }],
  ]) {
    invalid(checkNotification(n), why);
    invalid(checkEdgeFrame({ op: 'notify', read: false, ...n }), `notify frame: ${why}`);
    invalid(checkEdgeFrame({ op: 'inbox', items: [{ read: false, ...n }], unread: 0, more: false }), `inbox item: ${why}`);
  }
  invalid(checkEdgeFrame({ op: 'notify', id: 'n', ts, kind: 'announcement' }), 'notify without read');
  invalid(checkEdgeFrame({ op: 'notify', read: 'no', id: 'n', ts, kind: 'announcement' }), 'read not a boolean');
  invalid(checkEdgeFrame({ op: 'inbox', items: [{ id: 'n', ts, kind: 'announcement' }], unread: 0, more: false }), 'inbox item without read');

  // What a backend publishes: id and ts optional, unknown fields allowed (dropped by the edge).
  valid(checkNotificationIngress({ kind: 'mailbox', actor: 'carol', data: { a: 1 } }));
  valid(checkNotificationIngress({ kind: 'announcement', extra: true }));
  valid(checkNotificationIngress({ kind: 'remind', action: 'liked', object_type: 'post', object_id: '1', id: 'mine-1', ts }));
  invalid(checkNotificationIngress({ kind: 'mailbox' }));
  invalid(checkNotificationIngress({ actor: 'carol' }));
});

test('HTTP request and 201 bodies from PROTOCOL.md section 7', () => {
  valid(checkNotificationRequest({ kind: 'mailbox', actor: 'carol', to: ['bob'] }));
  valid(checkNotificationRequest({ kind: 'remind', action: 'liked', object_type: 'post', object_id: '1', to: ['bob', 'alice'], id: 'r-1', ts }));
  valid(checkNotificationRequest({ kind: 'announcement', title: 'hi' }));
  valid(checkNotificationRequest([{ kind: 'announcement' }, { kind: 'mailbox', actor: 'carol', to: ['bob'] }]));
  valid(checkNotificationRequest({ kind: 'mailbox', actor: 'carol', to: Array.from({ length: 1000 }, (_, i) => `u${i}`) }));
  valid(checkNotificationRequest(Array.from({ length: 100 }, () => ({ kind: 'announcement' }))));
  for (const [why, body] of [
    ['mailbox without to', { kind: 'mailbox', actor: 'carol' }],
    ['announcement with to', { kind: 'announcement', to: ['bob'] }],
    ['to empty', { kind: 'mailbox', actor: 'carol', to: [] }],
    ['to with a bad id', { kind: 'mailbox', actor: 'carol', to: ['a/b'] }],
    ['1001 recipients', { kind: 'mailbox', actor: 'carol', to: Array.from({ length: 1001 }, (_, i) => `u${i}`) }],
    ['101 notifications', Array.from({ length: 101 }, () => ({ kind: 'announcement' }))],
    ['remind without action', { kind: 'remind', object_type: 'post', object_id: '1', to: ['bob'] }],
    ['one bad item', [{ kind: 'announcement' }, { kind: 'mailbox', to: ['bob'] }]],
    ['not an object', 5],
  ])
    invalid(checkNotificationRequest(body), why);
  valid(checkNotificationCreated({ ids: ['e1.abc.1'] }));
  valid(checkNotificationCreated({ ids: ['a', 'b', 'h0123456789abcdef0123456789abcdef'] }));
  invalid(checkNotificationCreated({ ids: [] }));
  invalid(checkNotificationCreated({ id: 'a' }));
  invalid(checkNotificationCreated({ ids: ['a/b'] }));
  for (const [status, error] of [[400, 'bad_json'], [400, 'bad_request'], [401, 'unauthorized'], [404, 'not_found'], [405, 'method_not_allowed'], [413, 'too_large'], [500, 'internal'], [503, 'unavailable']])
    valid(checkHttpErrorStatus(status, { error, message: 'x' }), `${status} ${error}`);
  invalid(checkHttpErrorStatus(400, { error: 'unauthorized', message: 'x' }), 'status and code disagree');
  invalid(checkHttpErrorStatus(503, { error: 'internal', message: 'x' }), 'internal goes with 500 (PROTOCOL.md section 7)');
  invalid(checkHttpErrorStatus(500, { error: 'made_up', message: 'x' }), 'only documented codes');
});

test('inbox client frames, edge frames and sync payloads from PROTOCOL.md section 7', () => {
  for (const f of [
    { op: 'inbox' },
    { op: 'inbox', before: 'h0123456789abcdef0123456789abcdef', limit: 50, ref: 1 },
    { op: 'inbox', limit: 1 },
    { op: 'inbox', limit: 1000 },
    { op: 'read', ids: ['n1', 'e1.a.b'], ref: 'x' },
    { op: 'read', all: true },
    { op: 'settings', mute: ['remind:liked', 'announcement'], ref: 3 },
    { op: 'settings', mute: [] },
    { op: 'settings' },
  ])
    valid(checkClientFrame(f), JSON.stringify(f));
  for (const [why, f] of [
    ['limit 0', { op: 'inbox', limit: 0 }],
    ['limit 1001', { op: 'inbox', limit: 1001 }],
    ['limit not an integer', { op: 'inbox', limit: 2.5 }],
    ['before not an id', { op: 'inbox', before: 'a b' }],
    ['read with neither ids nor all', { op: 'read' }],
    ['read with both', { op: 'read', ids: ['a'], all: true }],
    ['read all false', { op: 'read', all: false }],
    ['read with no ids', { op: 'read', ids: [] }],
    ['unknown kind muted', { op: 'settings', mute: ['alert'] }],
    ['mute entry with an empty action', { op: 'settings', mute: ['remind:'] }],
    ['mute entry with a bad action', { op: 'settings', mute: ['remind:li ked'] }],
    ['mute not an array', { op: 'settings', mute: 'remind' }],
  ])
    invalid(checkClientFrame(f), why);

  for (const f of [
    { op: 'welcome', session: 's1', user: 'bob', kind: 'user', edge: 'e1', ts, exp: null, unread: 3, limits: { max_frame: 65536, max_rooms: 100, rate: 100, burst: 200 } },
    { op: 'backlog', count: 3, more: false },
    { op: 'backlog', count: 0, more: true },
    { op: 'inbox', ref: 'p', items: [], unread: 0, more: false },
    { op: 'read', ids: ['n1', 'n2'] },
    { op: 'read', all: true, ts },
    { op: 'ok', ref: 1, unread: 2 },
    { op: 'ok', ref: 2, mute: ['remind:liked', 'announcement'] },
    { op: 'ok', mute: [] },
  ])
    valid(checkEdgeFrame(f), JSON.stringify(f));
  for (const [why, f] of [
    ['welcome with a negative unread', { op: 'welcome', session: 's1', user: 'bob', kind: 'user', edge: 'e1', ts, exp: null, unread: -1, limits: { max_frame: 1, max_rooms: 1, rate: 1, burst: 1 } }],
    ['backlog without more', { op: 'backlog', count: 1 }],
    ['inbox without unread', { op: 'inbox', items: [], more: false }],
    ['read event with both', { op: 'read', ids: ['a'], all: true, ts }],
    ['read all without ts', { op: 'read', all: true }],
    ['read ids with ts', { op: 'read', ids: ['a'], ts }],
    ['ok with a bad mute entry', { op: 'ok', mute: ['nope'] }],
    ['ok with unread not a number', { op: 'ok', unread: 'two' }],
  ])
    invalid(checkEdgeFrame(f), why);

  valid(checkReadSync({ ids: ['n1'], ts }));
  valid(checkReadSync({ all: true, ts }));
  invalid(checkReadSync({ ids: ['n1'] }), 'read without ts');
  invalid(checkReadSync({ all: true, ids: ['n1'], ts }), 'read with both');
  invalid(checkReadSync({ ids: [], ts }), 'read without ids');
  valid(checkSettingsSync({ mute: ['remind:liked', 'announcement'], ts }));
  valid(checkSettingsSync({ mute: [], ts }));
  invalid(checkSettingsSync({ mute: ['remind:liked'] }), 'settings without ts');
  invalid(checkSettingsSync({ ts }), 'settings without mute');
});

scenario('live: every inbox frame and payload matches its schema', { timeout: 60000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await inboxCluster(env, 2, { perEdge: [['--api-key', API_KEY]] });
  const ops = await env.mqtt(broker, { name: 'operator' });
  for (const t of [topics.notify('+'), topics.notifyAll(), topics.read('+'), topics.settings('+')]) await ops.sub(t);
  const backend = await env.mqtt(broker, { name: 'backend' });
  const seen = new Set();

  await backend.pub(topics.notify('bob'), remind({ id: 'live-1' }));
  await backend.pub(topics.notifyAll(), announcement({ id: 'live-2' }));
  await waitStored(e2, 2);
  const bob = await env.connect(e2, { user: 'bob' });
  valid(checkEdgeFrame(bob.welcome));
  assert.equal(bob.welcome.unread, 2);
  seen.add('welcome.unread');
  const { pushed, backlog } = await backlogOf(bob);
  for (const f of pushed) valid(checkEdgeFrame(f));
  valid(checkEdgeFrame(backlog));
  seen.add('notify').add('backlog');

  const page = await bob.ok({ op: 'inbox', limit: 1 });
  valid(checkEdgeFrame(page));
  seen.add('inbox');

  const other = await env.connect(e1, { user: 'bob', name: 'bob-other' });
  const r = await bob.ok({ op: 'read', ids: ['live-1'] });
  valid(checkEdgeFrame(r));
  assert.equal(typeof r.unread, 'number');
  seen.add('ok.unread');
  valid(checkEdgeFrame(await other.next((f) => f.op === 'read' && f.ids, 10000, 'read event')));
  seen.add('read(ids)');
  const mRead = await ops.next((m) => m.topic === topics.read('bob') && m.json?.ids, 10000, 'read payload');
  valid(checkReadSync(mRead.json));
  seen.add('mqtt read(ids)');
  await bob.ok({ op: 'read', all: true });
  valid(checkEdgeFrame(await other.next((f) => f.op === 'read' && f.all, 10000, 'read-all event')));
  seen.add('read(all)');
  valid(checkReadSync((await ops.next((m) => m.topic === topics.read('bob') && m.json?.all, 10000, 'read-all payload')).json));
  seen.add('mqtt read(all)');

  const s = await bob.ok({ op: 'settings', mute: ['remind:liked'] });
  valid(checkEdgeFrame(s));
  seen.add('ok.mute');
  valid(checkSettingsSync((await ops.next((m) => m.topic === topics.settings('bob'), 10000, 'settings payload')).json));
  seen.add('mqtt settings');

  const created = await api(env, e1, mailbox({ to: ['bob'] }));
  valid(checkNotificationCreated(created.json));
  seen.add('201');
  const published = await ops.next((m) => m.topic === topics.notify('bob') && m.json?.id === created.json.ids[0], 10000, 'the notification e1 published');
  valid(checkNotification(published.json));
  seen.add('mqtt notify (from HTTP)');
  await untilNotified(bob, created.json.ids);
  valid(checkEdgeFrame(notifies(bob).find((f) => f.id === created.json.ids[0])));
  const refused = await api(env, e1, mailbox({ to: ['bob'] }), { key: 'wrong' });
  valid(checkHttpErrorStatus(refused.status, refused.json));
  seen.add('api error');

  assert.deepEqual([...seen].sort(), ['201', 'api error', 'backlog', 'inbox', 'mqtt notify (from HTTP)', 'mqtt read(all)', 'mqtt read(ids)', 'mqtt settings', 'notify', 'ok.mute', 'ok.unread', 'read(all)', 'read(ids)', 'welcome.unread'].sort());
});
