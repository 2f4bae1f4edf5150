// Permissions come from the token's claims, as patterns where '*' matches any run of characters. With
// rooms ["team-*"] a user may join team-a (and "team-", the empty run) but not "other" or "xteam-a"
// (forbidden). pub defaults to rooms, and a narrower pub claim limits publishing while joining stays
// allowed; pub need not name a joined room. No rooms claim means no rooms. dm limits direct messages
// (absent = anyone); devices/cmd are absent = none. A refresh replaces the permissions, and rooms already
// joined stay joined.
import assert from 'node:assert/strict';
import { scenario, topics } from './lib/harness.mjs';

scenario('room, pub and dm claims with patterns', { timeout: 60000 }, async (env) => {
  const { edges: [edge] } = await env.cluster(1);

  const u = await env.connect(edge, { user: 'pat', extra: { rooms: ['team-*', 'a*z'] } });
  for (const room of ['team-a', 'team-', 'team-b.c', 'az', 'abcz']) await u.ok({ op: 'sub', room });
  for (const room of ['other', 'xteam-a', 'team', 'abc', 'azx', 'TEAM-a']) await u.err({ op: 'sub', room }, 'forbidden');
  // pub absent = same as rooms.
  await u.ok({ op: 'pub', room: 'team-zzz', data: 1 }); // not joined: fine
  await u.err({ op: 'pub', room: 'other', data: 1 }, 'forbidden');
  // devices and cmd absent = none.
  await u.err({ op: 'sub', device: 'd1' }, 'forbidden');
  await u.err({ op: 'cmd', device: 'd1', data: 1 }, 'forbidden');
  // dm absent = anyone.
  await u.ok({ op: 'send', to: 'whoever', data: 1 });

  const narrow = await env.connect(edge, { user: 'narrow', extra: { rooms: ['team-*'], pub: ['team-a'] } });
  await narrow.ok({ op: 'sub', room: 'team-b' });
  await narrow.ok({ op: 'pub', room: 'team-a', data: 'allowed' });
  await narrow.err({ op: 'pub', room: 'team-b', data: 'joined but not allowed' }, 'forbidden');

  // pub may be wider than rooms: publish-only rooms.
  const announcer = await env.connect(edge, { user: 'announcer', extra: { rooms: [], pub: ['announce'] } });
  await announcer.ok({ op: 'pub', room: 'announce', data: 'hear ye' });
  await announcer.err({ op: 'sub', room: 'announce' }, 'forbidden');

  const nothing = await env.connect(edge, { user: 'nothing' });
  await nothing.err({ op: 'sub', room: 'lobby' }, 'forbidden');
  await nothing.err({ op: 'pub', room: 'lobby', data: 1 }, 'forbidden');

  const star = await env.connect(edge, { user: 'star', extra: { rooms: ['*'] } });
  await star.ok({ op: 'sub', room: 'anything.at:all@x' });

  const dm = await env.connect(edge, { user: 'dmer', extra: { dm: ['bob', 'ops-*'] } });
  await dm.ok({ op: 'send', to: 'bob', data: 1 });
  await dm.ok({ op: 'send', to: 'ops-1', data: 1 });
  await dm.err({ op: 'send', to: 'carol', data: 1 }, 'forbidden');
  const nodm = await env.connect(edge, { user: 'nodm', extra: { dm: [] } });
  await nodm.err({ op: 'send', to: 'bob', data: 1 }, 'forbidden');

  // A forbidden pub published nothing: a member of team-b saw only what was allowed.
  const watcher = await env.connect(edge, { user: 'watcher', extra: { rooms: ['team-*'] } });
  await watcher.ok({ op: 'sub', room: 'team-b' });
  await env.syncTopic(topics.room('team-b'), [watcher]);
  await narrow.err({ op: 'pub', room: 'team-b', data: 'still not allowed' }, 'forbidden');
  await u.ok({ op: 'pub', room: 'team-b', data: 'allowed-by-pat' });
  const m = await watcher.next((f) => f.op === 'msg' && f.room === 'team-b', 10000, 'the allowed message');
  assert.equal(m.data, 'allowed-by-pat');
  await watcher.none((f) => f.op === 'msg', 300, 'a forbidden message');
});

scenario('refresh replaces permissions; joined rooms stay joined', { timeout: 60000 }, async (env) => {
  const { broker, edges: [edge] } = await env.cluster(1);
  const c = await env.connect(edge, { user: 'shifty', extra: { rooms: ['a'] } });
  await c.ok({ op: 'sub', room: 'a' });
  await c.err({ op: 'sub', room: 'b' }, 'forbidden');
  await c.ok({ op: 'refresh', token: env.token('shifty', { rooms: ['b'] }) });
  await c.ok({ op: 'sub', room: 'b' });
  await c.err({ op: 'pub', room: 'a', data: 1 }, 'forbidden');
  // Still a member of a: a backend message to room a arrives.
  await env.syncTopic(topics.room('a'), [c]);
  const backend = await env.mqtt(broker, { name: 'backend' });
  await backend.pub(topics.room('a'), { still: 'here' });
  const m = await c.next((f) => f.op === 'msg' && f.room === 'a' && f.data?.still === 'here', 10000, 'message in the room joined before refresh');
  assert.deepEqual(m.data, { still: 'here' });
});
