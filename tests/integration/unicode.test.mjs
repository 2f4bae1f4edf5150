// Data is opaque to the fabric. A payload full of emoji (including a ZWJ sequence and astral-plane
// characters), accents, CJK, right-to-left text, JSON escapes and control characters is published by a
// member on edge e1 and must arrive byte-for-byte equal (after JSON parsing) at a member on edge e2 and
// back at the sender. The same text sent by a backend as a non-JSON MQTT payload arrives as "enc":"text"
// with the exact string, and so does a direct message.
import assert from 'node:assert/strict';
import { scenario, topics } from './lib/harness.mjs';

const TEXT = 'héllo wörld — ¿qué tal? 😀 👨‍👩‍👧‍👦 𝄞 日本語テキスト 한국어 עברית العربية ✓ ∑ ∞';
const DATA = {
  text: TEXT,
  'ключ-😀': ['𝄞', 'ñ', '\u00e9', 'e\u0301'],
  escapes: 'quote " backslash \\ slash / newline \n tab \t bell \u0007 del \u007f',
  nul: 'before\u0000after',
  lineSep: 'a\u2028b\u2029c',
  nested: { deep: [[[{ '🙂': '🙃' }]]] },
  numbers: [0, -1, 1.5, 1e-7, 123456789, 2 ** 53, -0.25],
  literals: [true, false, null],
  empty: { obj: {}, arr: [], str: '' },
};

scenario('non-ASCII and emoji payloads round-trip intact', { timeout: 60000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await env.cluster(2);
  const extra = { rooms: ['intl'] };
  const a = await env.connect(e1, { user: 'a', extra });
  const b = await env.connect(e2, { user: 'b', extra });
  for (const c of [a, b]) await c.ok({ op: 'sub', room: 'intl' });
  await env.syncTopic(topics.room('intl'), [a, b]);

  // Field by field, so a failure names the part that broke.
  for (const [key, value] of Object.entries(DATA)) {
    const ok = await a.ok({ op: 'pub', room: 'intl', data: { key, value } });
    for (const c of [a, b]) {
      const m = await c.next((f) => f.op === 'msg' && f.id === ok.id, 10000, `message ${key}`);
      assert.deepEqual(m.data, { key, value }, `${key} at ${c.name}`);
    }
  }
  // All at once, as the whole data value.
  const ok = await a.ok({ op: 'pub', room: 'intl', data: DATA });
  for (const c of [a, b]) {
    const m = await c.next((f) => f.op === 'msg' && f.id === ok.id, 10000, 'whole payload');
    assert.deepEqual(m.data, DATA);
  }
  // A bare string as data.
  const ok2 = await a.ok({ op: 'pub', room: 'intl', data: TEXT });
  const m2 = await b.next((f) => f.op === 'msg' && f.id === ok2.id, 10000, 'string data');
  assert.equal(m2.data, TEXT);

  // Backend text (not JSON) with the same characters.
  const backend = await env.mqtt(broker, { name: 'backend' });
  await backend.pub(topics.room('intl'), Buffer.from(TEXT, 'utf8'));
  for (const c of [a, b]) {
    const m = await c.next((f) => f.op === 'msg' && f.enc === 'text', 10000, 'backend text');
    assert.equal(m.data, TEXT);
  }

  // A direct message.
  await env.syncTopic(topics.direct('b'), [b]);
  const ok3 = await a.ok({ op: 'send', to: 'b', data: { text: TEXT } });
  const dm = await b.next((f) => f.op === 'msg' && f.id === ok3.id, 10000, 'direct message');
  assert.equal(dm.data.text, TEXT);
});
