// Ids can never add an MQTT topic level or a wildcard. A user allowed everything ("*" in every claim)
// sends sub/unsub/pub with rooms, send with a user, sub/cmd with a device, each id broken in one way --
// '+', '#', '/', '$', NUL, empty, 65 characters, a space, non-ASCII -- and gets invalid_id every time
// (the pattern "*" would match them, so this is id validation, not permission). Wrong types are
// bad_request. A 64-character id made of every allowed character class works end to end, and nothing the
// invalid requests did reached the broker.
import assert from 'node:assert/strict';
import { scenario, topics } from './lib/harness.mjs';

const BAD_IDS = {
  plus: 'a+b',
  'plus-alone': '+',
  hash: 'a#',
  'hash-alone': '#',
  slash: 'a/b',
  'slash-leading': '/a',
  dollar: '$SYS',
  nul: 'a\u0000b',
  empty: '',
  '65-chars': 'x'.repeat(65),
  space: 'a b',
  tab: 'a\tb',
  newline: 'a\n',
  'non-ascii': 'café',
  emoji: 'room😀',
  'fullwidth-slash': 'a／b',
  star: 'a*',
};

scenario('invalid ids are rejected with invalid_id for sub, unsub, pub, send and devices', { timeout: 60000 }, async (env) => {
  const { broker, edges: [edge] } = await env.cluster(1);
  const spy = await env.mqtt(broker, { name: 'spy' });
  await spy.sub('#');
  const all = { rooms: ['*'], pub: ['*'], devices: ['*'], cmd: ['*'], dm: ['*'] };
  const c = await env.connect(edge, { user: 'tester', extra: all });

  for (const [why, id] of Object.entries(BAD_IDS)) {
    for (const op of [
      { op: 'sub', room: id },
      { op: 'unsub', room: id },
      { op: 'pub', room: id, data: why },
      { op: 'send', to: id, data: why },
      { op: 'sub', device: id },
      { op: 'unsub', device: id },
      { op: 'cmd', device: id, data: why },
    ]) {
      const r = await c.request(op, { raw: true });
      assert.equal(r.op, 'error', `${why}: ${JSON.stringify(op)} -> ${JSON.stringify(r)}`);
      assert.equal(r.code, 'invalid_id', `${why}: ${JSON.stringify(op)} -> ${r.code}`);
    }
  }
  // Wrong types are bad_request, not invalid_id.
  for (const op of [{ op: 'sub', room: 42 }, { op: 'pub', room: ['a'], data: 1 }, { op: 'send', to: null, data: 1 }, { op: 'sub', device: { id: 'd1' } }]) {
    const r = await c.request(op, { raw: true });
    assert.equal(r.op, 'error');
    assert.equal(r.code, 'bad_request', `${JSON.stringify(op)} -> ${r.code}`);
  }
  assert.equal(c.closed, null, 'the connection stays open');

  // None of it reached the broker (apart from the edge's own status and the user's direct topic).
  await spy.none((m) => /room|device\/[^/]*\/cmd/.test(m.topic), 300, 'publish from an invalid request');

  // 64 characters, every allowed class.
  const long = ('Az09_-.@:' + 'x'.repeat(64)).slice(0, 64);
  assert.equal(long.length, 64);
  await c.ok({ op: 'sub', room: long });
  await env.syncTopic(topics.room(long), [c]);
  const ok = await c.ok({ op: 'pub', room: long, data: 'long room' });
  const m = await c.next((f) => f.op === 'msg' && f.id === ok.id, 10000, 'message in the 64-char room');
  assert.equal(m.room, long);
  const onWire = await spy.next((x) => x.topic === topics.room(long) && x.json?.id === ok.id, 10000, 'publish on the 64-char room topic');
  assert.equal(onWire.json.data, 'long room');
  await c.ok({ op: 'send', to: long, data: 1 });
  await c.ok({ op: 'sub', device: long });
  await c.ok({ op: 'cmd', device: long, data: 1 });
  await c.ok({ op: 'unsub', room: long });
});
