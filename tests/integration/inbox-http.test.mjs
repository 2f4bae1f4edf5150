// The HTTP ingress, POST /api/v1/notifications on e1 (--api-key, two keys; --api-max-body 4096). Bob is
// connected to e1, carol and dave to e2. Good requests -- one recipient, several recipients, an array of
// notifications, an announcement without "to", the X-API-Key header, a given id and ts, unknown fields --
// are answered 201 {"ids":[...]} and reach the connected recipients on both edges live, with the ids of the
// 201; what e1 publishes on the notify topics is a stored notification (schema-checked by an MQTT
// watcher). Bad ones store nothing: bad JSON (also an empty body, JSON followed by garbage) is 400 bad_json; a remind without action, a mailbox without
// actor, "to" holding an invalid id (and other broken fields) are 400 bad_request -- a request with one bad
// item among good ones included; a sentinel sent afterwards proves none of them reached anyone or any
// inbox. A wrong or missing key is 401 unauthorized, a body over api-max-body 413 too_large (announced in
// Content-Length, or chunked), GET/PUT/DELETE 405, and e2, without --api-key, answers 404. Every answer's
// body is checked against its schema (201: notification-request.schema.json#/$defs/created; errors:
// http-error.schema.json with the status its code goes with).
import assert from 'node:assert/strict';
import { scenario } from './lib/harness.mjs';
import { inboxCluster, watchInboxTopics, api, inboxAll, untilNotified, notifies, remind, mailbox, announcement, API_KEY } from './lib/inbox.mjs';

const SECOND_KEY = 'k-second-key';

scenario('HTTP API: good requests are 201 and delivered live on both edges; bad ones store nothing', { timeout: 60000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await inboxCluster(env, 2, { perEdge: [['--api-key', `${API_KEY},${SECOND_KEY}`, '--api-max-body', '4096']] });
  const watch = await watchInboxTopics(env, broker, { notify: true });
  const bob = await env.connect(e1, { user: 'bob' });
  const carol = await env.connect(e2, { user: 'carol' });
  const dave = await env.connect(e2, { user: 'dave' });

  const created = async (payload, opts) => {
    const r = await api(env, e1, payload, opts);
    assert.equal(r.status, 201, `${JSON.stringify(payload).slice(0, 200)} -> ${r.status} ${r.body}`);
    return r.json.ids;
  };

  // One recipient.
  const [m1] = await created(mailbox({ to: ['bob'], data: { case: 'one' } }));
  const f1 = (await untilNotified(bob, [m1]), notifies(bob).find((f) => f.id === m1));
  assert.deepEqual(f1.data, { case: 'one' });
  assert.equal(f1.read, false);
  assert.equal('to' in f1, false, 'to is not part of the notification');
  const wire = await watch.next((m) => m.topic.endsWith('/user/bob/notify') && m.json?.id === m1, 10000, 'the publish for bob');
  assert.deepEqual(wire.json, Object.fromEntries(Object.entries(f1).filter(([k]) => k !== 'op' && k !== 'read')), 'published as stored');

  // Several recipients, on both edges: one notification, one id.
  const [m2] = await created(remind({ to: ['bob', 'carol'], data: { case: 'many' } }));
  await untilNotified(bob, [m2]);
  await untilNotified(carol, [m2]);
  await dave.none((f) => f.id === m2, 300, 'a notification for others');

  // An array: a mailbox for carol, a remind for bob, an announcement for everyone.
  const ids = await created([mailbox({ to: ['carol'], data: { case: 'arr0' } }), remind({ to: ['bob'], data: { case: 'arr1' } }), announcement({ data: { case: 'arr2' } })]);
  assert.equal(ids.length, 3);
  assert.equal(new Set(ids).size, 3);
  await untilNotified(carol, [ids[0], ids[2]]);
  await untilNotified(bob, [ids[1], ids[2]]);
  await untilNotified(dave, [ids[2]]);
  assert.deepEqual(notifies(carol).find((f) => f.id === ids[0]).data, { case: 'arr0' }, 'ids are in request order');
  assert.deepEqual(notifies(bob).find((f) => f.id === ids[1]).data, { case: 'arr1' });

  // An announcement without to, with the other key in X-API-Key.
  const [a1] = await created(announcement({ title: 'maintenance tonight' }), { key: SECOND_KEY, auth: 'x-api-key' });
  for (const c of [bob, carol, dave]) await untilNotified(c, [a1]);

  // A given id and ts are kept; unknown fields are dropped.
  const [g] = await created(mailbox({ to: ['dave'], id: 'given-id-1', ts: 1700000000000, junk: { x: 1 }, data: { case: 'given' } }));
  assert.equal(g, 'given-id-1');
  await untilNotified(dave, ['given-id-1']);
  const fg = notifies(dave).find((f) => f.id === 'given-id-1');
  assert.equal(fg.ts, 1700000000000);
  assert.equal('junk' in fg, false, 'unknown fields are dropped');

  // Bad requests: nothing stored, nothing pushed.
  const bad = (tag) => ({ case: `bad-${tag}` });
  const badJson = ['not json', '{"kind":"mailbox",', '[', '{"kind":"mailbox","actor":"x","to":["bob"],}'];
  for (const body of badJson) {
    const r = await api(env, e1, body);
    assert.deepEqual([r.status, r.json?.error], [400, 'bad_json'], `bad JSON ${JSON.stringify(body)}: ${r.body}`);
  }
  const badRequests = [
    ['remind without action', { kind: 'remind', object_type: 'post', object_id: '1', to: ['bob'], data: bad(1) }],
    ['remind without object_type', { kind: 'remind', action: 'liked', object_id: '1', to: ['bob'], data: bad(2) }],
    ['remind without object_id', { kind: 'remind', action: 'liked', object_type: 'post', to: ['bob'], data: bad(3) }],
    ['mailbox without actor', { kind: 'mailbox', title: 'x', to: ['bob'], data: bad(4) }],
    ['to with an invalid id', mailbox({ to: ['bob', 'a/b'], data: bad(5) })],
    ['to with an empty id', mailbox({ to: [''], data: bad(6) })],
    ['to with a non-ASCII id', mailbox({ to: ['bøb'], data: bad(7) })],
    ['to empty', mailbox({ to: [], data: bad(8) })],
    ['to not an array', mailbox({ to: 'bob', data: bad(9) })],
    ['a mailbox without to', mailbox({ data: bad(10) })],
    ['an unknown kind', { kind: 'alert', to: ['bob'], data: bad(11) }],
    ['no kind', { actor: 'carol', to: ['bob'], data: bad(12) }],
    ['action not an id', remind({ action: 'li ked', to: ['bob'], data: bad(13) })],
    ['actor not an id', mailbox({ actor: 'car/ol', to: ['bob'], data: bad(14) })],
    ['title over 1024 bytes', mailbox({ title: 'é'.repeat(513), to: ['bob'], data: bad(15) })],
    ['object_id not a string', remind({ object_id: 7, to: ['bob'], data: bad(16) })],
    ['id with a slash', mailbox({ id: 'a/b', to: ['bob'], data: bad(17) })],
    ['id of 101 characters', mailbox({ id: 'x'.repeat(101), to: ['bob'], data: bad(18) })],
    ['ts not a number', mailbox({ ts: 'yesterday', to: ['bob'], data: bad(19) })],
    ['1001 recipients', mailbox({ to: Array.from({ length: 1001 }, (_, i) => `u${i}`), data: bad(20) })],
    ['one bad item among good ones', [mailbox({ to: ['bob'], data: bad(21) }), { kind: 'remind', to: ['bob'], data: bad(22) }, announcement({ data: bad(23) })]],
    ['an empty array', []],
    ['101 notifications', Array.from({ length: 101 }, () => announcement({ data: bad(24) }))],
    ['a number', 5],
    ['a string', JSON.stringify('hello')],
    ['null', 'null'],
  ];
  // (two of these are larger than 4096 bytes: the request limit is raised for them below)
  for (const [why, payload] of badRequests) {
    const r = await api(env, e1, payload);
    if (r.status === 413) continue; // checked with a larger limit in the next scenario
    assert.deepEqual([r.status, r.json?.error], [400, 'bad_request'], `${why}: ${r.body}`);
  }
  const [sentinel] = await created(mailbox({ to: ['bob', 'carol'], data: { case: 'sentinel' } }));
  await untilNotified(bob, [sentinel]);
  await untilNotified(carol, [sentinel]);
  for (const c of [bob, carol, dave]) {
    const stray = notifies(c).filter((f) => String(f.data?.case).startsWith('bad-'));
    assert.deepEqual(stray, [], `${c.name}: nothing from a bad request was pushed`);
    const stored = (await inboxAll(c)).items.filter((x) => String(x.data?.case).startsWith('bad-'));
    assert.deepEqual(stored, [], `${c.name}: nothing from a bad request was stored`);
  }
  assert.equal(watch.all.filter((m) => String(m.json?.data?.case).startsWith('bad-')).length, 0, 'nothing from a bad request was published');

  // Keys.
  for (const [why, opts] of [
    ['wrong key', { key: 'nope' }],
    ['missing key', { auth: 'none' }],
    ['wrong key in X-API-Key', { key: 'nope', auth: 'x-api-key' }],
    ['a prefix of a key', { key: API_KEY.slice(0, -1) }],
    ['both keys as one', { key: `${API_KEY},${SECOND_KEY}` }],
    ['Basic scheme', { auth: 'none', headers: { authorization: `Basic ${API_KEY}` } }],
  ]) {
    const r = await api(env, e1, mailbox({ to: ['bob'], data: { case: 'bad-key' } }), opts);
    assert.deepEqual([r.status, r.json?.error], [401, 'unauthorized'], `${why}: ${r.body}`);
  }

  // Size: over 4096 bytes, announced or chunked.
  const big = mailbox({ to: ['bob'], data: { case: 'bad-big', pad: 'x'.repeat(5000) } });
  const r413 = await api(env, e1, big);
  assert.deepEqual([r413.status, r413.json?.error], [413, 'too_large'], r413.body);
  const chunked = await api(env, e1, JSON.stringify(big), { headers: { 'transfer-encoding': 'chunked', 'content-length': undefined } });
  assert.deepEqual([chunked.status, chunked.json?.error], [413, 'too_large'], `chunked: ${chunked.body}`);
  const justUnder = mailbox({ to: ['bob'], data: { case: 'near-limit', pad: 'y'.repeat(3900) } });
  assert.ok(JSON.stringify(justUnder).length <= 4096);
  const [near] = await created(justUnder);
  await untilNotified(bob, [near]);

  // Methods and the edge without a key.
  for (const method of ['GET', 'PUT', 'DELETE']) {
    const r = await api(env, e1, method === 'GET' ? undefined : mailbox({ to: ['bob'] }), { method });
    assert.deepEqual(r.status, 405, `${method}: ${r.body}`);
  }
  const off = await api(env, e2, mailbox({ to: ['bob'], data: { case: 'bad-off' } }));
  assert.deepEqual([off.status, off.json?.error], [404, 'not_found'], off.body);
  await bob.none((f) => f.op === 'notify' && String(f.data?.case).startsWith('bad-'), 300, 'a refused notification');
  // e1 stores its own copy and then hears its own publish back from the broker: dropped by id.
  for (const c of [bob, carol, dave]) {
    const seen = notifies(c).map((f) => f.id);
    assert.equal(new Set(seen).size, seen.length, `${c.name}: every notification pushed once`);
  }

  // Last (so that a failure here hides nothing above): JSON followed by garbage is not JSON, and neither
  // is an empty body.
  const trailing = await api(env, e1, `${JSON.stringify(mailbox({ to: ['bob'], data: { case: 'bad-trailing' } }))} trailing`);
  const empty = await api(env, e1, '');
  assert.deepEqual([empty.status, empty.json?.error], [400, 'bad_json'], `an empty body: ${empty.body}`);
  assert.deepEqual([trailing.status, trailing.json?.error], [400, 'bad_json'], `JSON followed by garbage: ${trailing.body}`);
});

scenario('HTTP API: 1001 recipients and 101 notifications are bad_request (large --api-max-body)', { timeout: 60000 }, async (env) => {
  const { edges: [e1] } = await inboxCluster(env, 1, { extra: ['--api-key', API_KEY] });
  const bob = await env.connect(e1, { user: 'bob' });
  for (const [why, payload] of [
    ['1001 recipients', mailbox({ to: Array.from({ length: 1001 }, (_, i) => `u${i}`), data: { case: 'bad' } })],
    ['101 notifications', Array.from({ length: 101 }, () => mailbox({ to: ['bob'], data: { case: 'bad' } }))],
  ]) {
    const r = await api(env, e1, payload);
    assert.deepEqual([r.status, r.json?.error], [400, 'bad_request'], `${why}: ${r.body}`);
  }
  const ok = await api(env, e1, Array.from({ length: 100 }, (_, i) => mailbox({ to: Array.from({ length: 10 }, (_, j) => (j ? `u${i}-${j}` : 'bob')), data: { case: 'ok', i } })));
  assert.equal(ok.status, 201, ok.body);
  assert.equal(ok.json.ids.length, 100, '100 notifications, 10 recipients each');
  await untilNotified(bob, ok.json.ids);
  assert.equal(notifies(bob).filter((f) => f.data.case === 'bad').length, 0);
  const r = await api(env, e1, '{"kind":"announcement"}');
  assert.equal(r.status, 201, `a minimal announcement: ${r.body}`);
});
