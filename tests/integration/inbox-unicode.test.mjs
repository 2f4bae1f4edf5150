// Non-ASCII text in notifications. Titles, object ids and data full of accents, emoji (a ZWJ sequence and
// astral-plane characters), CJK, right-to-left text, JSON escapes and U+2028 enter once over MQTT
// (a backend publishing to mqedge/v1/user/bob/notify) and once over e1's HTTP API. Each must come out
// exactly as it went in (after JSON parsing) everywhere: pushed live to bob's tab on e2, in the backlog of
// a tab opening later on e1, and in inbox on both edges. A title of exactly 1024 bytes of 4-byte emoji
// (256 characters) is accepted; one more emoji (1028 bytes) is refused with bad_request -- the limit is in
// bytes. Last, data is any JSON: a U+0000 inside a string and numbers with 17 significant digits survive.
import assert from 'node:assert/strict';
import { scenario, topics } from './lib/harness.mjs';
import { inboxCluster, api, backlogOf, inboxAll, untilNotified, notifies, remind, mailbox, API_KEY } from './lib/inbox.mjs';

const TEXT = 'héllo wörld 🎉 日本語 ✓ — ¿qué tal? 👨‍👩‍👧‍👦 𝄞 한국어 עברית العربية ∑ ∞';
const DATA = {
  text: TEXT,
  'ключ-😀': ['𝄞', 'ñ', '\u00e9', 'e\u0301'],
  escapes: 'quote " backslash \\ slash / newline \n tab \t bell \u0007 del \u007f',
  lineSep: 'a\u2028b\u2029c',
  nested: { deep: [[[{ '🙂': '🙃' }]]] },
  numbers: [0, -1, 1.5, 123456789, -0.25],
  literals: [true, false, null],
  empty: { obj: {}, arr: [], str: '' },
};
const byteLen = (s) => Buffer.byteLength(s, 'utf8');

scenario('non-ASCII and emoji in title, object_id and data round-trip through MQTT, HTTP, backlog and inbox', { timeout: 60000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await inboxCluster(env, 2, { perEdge: [['--api-key', API_KEY]] });
  const backend = await env.mqtt(broker, { name: 'backend' });
  const live = await env.connect(e2, { user: 'bob', name: 'bob-live' });

  const sent = new Map(); // id -> { title, object_id, data }
  const viaMqtt = remind({ id: 'u-mqtt', title: TEXT, object_id: `objet-${TEXT}`, data: DATA });
  await backend.pub(topics.notify('bob'), viaMqtt);
  sent.set('u-mqtt', viaMqtt);
  const viaHttp = mailbox({ title: `✉ ${TEXT}`, data: { ...DATA, via: 'http' } });
  const r = await api(env, e1, { ...viaHttp, to: ['bob'] });
  assert.equal(r.status, 201, r.body);
  sent.set(r.json.ids[0], viaHttp);
  const maxTitle = '🎉'.repeat(256);
  assert.equal(byteLen(maxTitle), 1024);
  const r2 = await api(env, e1, mailbox({ to: ['bob'], title: maxTitle, data: { max: true } }));
  assert.equal(r2.status, 201, `a 1024-byte title: ${r2.body}`);
  sent.set(r2.json.ids[0], mailbox({ title: maxTitle, data: { max: true } }));
  const over = await api(env, e1, mailbox({ to: ['bob'], title: maxTitle + '🎉', data: { over: true } }));
  assert.deepEqual([over.status, over.json?.error], [400, 'bad_request'], `a 1028-byte title (257 characters): ${over.body}`);
  await backend.pub(topics.notify('bob'), mailbox({ id: 'u-over', title: maxTitle + '🎉' }));
  const ids = [...sent.keys()];

  const same = (got, want, where) => {
    for (const k of ['title', 'object_id', 'data']) assert.deepEqual(got[k], want[k], `${where}: ${k}`);
    assert.equal(got.kind, want.kind, `${where}: kind`);
  };
  await untilNotified(live, ids);
  for (const id of ids) same(notifies(live).find((f) => f.id === id), sent.get(id), `live push of ${id}`);

  const later = await env.connect(e1, { user: 'bob', name: 'bob-later' });
  const { pushed } = await backlogOf(later);
  for (const id of ids) same(pushed.find((f) => f.id === id) ?? {}, sent.get(id), `backlog of ${id} on e1`);
  for (const c of [live, later]) {
    const { items } = await inboxAll(c);
    for (const id of ids) same(items.find((x) => x.id === id) ?? {}, sent.get(id), `inbox item ${id} at ${c.name}`);
    assert.equal(items.some((x) => x.id === 'u-over'), false, `${c.name}: the over-long title published over MQTT was not stored`);
  }

  // Data is any JSON: a U+0000 inside strings and keys, and numbers that need all 17 significant digits
  // (2^53 is exactly representable; 0.1 + 0.2 is 0.30000000000000004). Checked together so that a
  // failure lists every value that changed.
  const exact = { nul: 'before\u0000after', key: { 'a\u0000b': 1 }, big: 2 ** 53, sum: 0.1 + 0.2, tiny: 1e-7, neg: -1234567.891011121 };
  await backend.pub(topics.notify('bob'), mailbox({ id: 'u-exact', data: exact }));
  await untilNotified(live, ['u-exact']);
  await untilNotified(later, ['u-exact']);
  const gotLive = notifies(live).find((f) => f.id === 'u-exact').data;
  const gotInbox = (await inboxAll(later)).items.find((x) => x.id === 'u-exact').data;
  const changed = [];
  for (const [where, got] of [['live', gotLive], ['inbox', gotInbox]])
    for (const k of Object.keys(exact)) if (JSON.stringify(got?.[k]) !== JSON.stringify(exact[k])) changed.push(`${where} ${k}: sent ${JSON.stringify(exact[k])}, got ${JSON.stringify(got?.[k])}`);
  assert.deepEqual(changed, [], 'data values changed on the way');
});
