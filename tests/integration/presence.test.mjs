// Presence across edges (PROTOCOL.md, presence). Rooms matching --presence-rooms report who is in
// them on every edge. Three users: alice and bob with a tab on each of two edges, carol (with public
// info in her token) on edge 2 only; two watchers (one per edge) subscribed with presence: true.
// Each watcher gets exactly one "join" per user (several tabs are one member) and one "leave" when a
// user's last tab anywhere is gone. Then edge 2 is killed with SIGKILL: its users leave everywhere
// (carol and the second watcher; bob still has a tab on edge 1) within 3 s, driven by edge 2's last
// will; after edge 2 comes back, nothing of its previous run is counted again.
import assert from 'node:assert/strict';
import { scenario, delay } from './lib/harness.mjs';

const ROOM = 'pr-lobby';
// join/leave frames are set aside as they come (Client.ignore keeps them, schema-checked, in .ignored)
const isEvent = (f) => f.op === 'join' || f.op === 'leave';
const events = (c) => c.ignored.filter((f) => isEvent(f) && f.room === ROOM).map((f) => `${f.op}:${f.user}`);
// nothing new arrives for a while
async function quiet(c, ms = 500) {
  const n = c.ignored.length;
  await delay(ms);
  assert.equal(c.ignored.length, n, `${c.name}: no new event: ${JSON.stringify(c.ignored.slice(n))}`);
}
const members = (r) => Object.fromEntries(r.members.map((m) => [m.user, m.conns]));

scenario('presence: first join and last leave across two edges; a killed edge\'s users leave within 3 s', { timeout: 60000 }, async (env) => {
  const { edges: [e1, e2] } = await env.cluster(2, { extra: ['--presence-rooms', 'pr-*'] });
  const claims = { rooms: ['pr-*', 'plain'] };
  const w1 = await env.connect(e1, { user: 'w1', extra: claims });
  const w2 = await env.connect(e2, { user: 'w2', extra: claims });
  for (const w of [w1, w2]) w.ignore(isEvent);
  await w1.ok({ op: 'sub', room: ROOM, presence: true });
  await w2.ok({ op: 'sub', room: ROOM, presence: true });
  await w1.until(() => events(w1).includes('join:w2'), 5000, 'w1 sees w2 join');
  await w2.until(() => events(w2).includes('join:w1'), 5000, 'w2 sees w1 join');

  const a1 = await env.connect(e1, { user: 'alice', extra: claims });
  const a2 = await env.connect(e2, { user: 'alice', extra: claims });
  const b1 = await env.connect(e1, { user: 'bob', extra: claims });
  const b2 = await env.connect(e2, { user: 'bob', extra: claims });
  const c2 = await env.connect(e2, { user: 'carol', extra: { ...claims, info: { name: 'Carol', avatar: 'c.png' } } });
  for (const c of [a1, a2, b1, b2, c2]) await c.ok({ op: 'sub', room: ROOM });
  // a room without presence: no events, and the op says so
  await a1.ok({ op: 'sub', room: 'plain' });
  assert.equal((await a1.err({ op: 'presence', room: 'plain' }, 'bad_request')).code, 'bad_request');
  // not subscribed: refused
  assert.equal((await a1.err({ op: 'presence', room: 'pr-other' }, 'not_subscribed')).code, 'not_subscribed');

  for (const w of [w1, w2]) {
    await w.until(() => ['alice', 'bob', 'carol'].every((u) => events(w).includes(`join:${u}`)), 5000, `${w.name}: joins`);
    await quiet(w);
    const ev = events(w);
    for (const u of ['alice', 'bob', 'carol']) assert.equal(ev.filter((x) => x === `join:${u}`).length, 1, `${w.name}: one join for ${u}: ${ev}`);
    const r = await w.ok({ op: 'presence', room: ROOM });
    assert.equal(r.room, ROOM);
    assert.deepEqual(members(r), { w1: 1, w2: 1, alice: 2, bob: 2, carol: 1 });
    assert.equal(r.users, 5);
    assert.equal(r.conns, 7);
    assert.deepEqual(r.members.find((m) => m.user === 'carol').info, { name: 'Carol', avatar: 'c.png' });
    assert.equal(r.members.find((m) => m.user === 'alice').info, undefined);
  }

  // alice leaves one tab (unsub): no event; then closes the other: one leave everywhere
  await a1.ok({ op: 'unsub', room: ROOM });
  await quiet(w1);
  a2.close();
  for (const w of [w1, w2]) await w.until(() => events(w).includes('leave:alice'), 5000, `${w.name}: alice leaves`);
  for (const w of [w1, w2]) assert.deepEqual(members(await w.ok({ op: 'presence', room: ROOM })), { w1: 1, w2: 1, bob: 2, carol: 1 });

  // edge 2 dies without a word: its users leave on edge 1 within 3 s, bob stays (he has a tab here)
  const t0 = Date.now();
  await e2.kill('SIGKILL');
  await w1.until(() => events(w1).includes('leave:carol') && events(w1).includes('leave:w2'), 3000, 'leaves after SIGKILL');
  const took = Date.now() - t0;
  assert.ok(took < 3000, `the killed edge's users left within ${took} ms`);
  assert.ok(!events(w1).includes('leave:bob'), 'bob still has a tab on edge 1');
  assert.deepEqual(members(await w1.ok({ op: 'presence', room: ROOM })), { w1: 1, bob: 1 });

  // edge 2 comes back: its previous run's retained list is not counted again
  await e2.restart();
  await quiet(w1, 1000);
  assert.deepEqual(members(await w1.ok({ op: 'presence', room: ROOM })), { w1: 1, bob: 1 });
  // and a new tab there joins as usual
  const c3 = await env.connect(e2, { user: 'carol', extra: claims });
  await c3.ok({ op: 'sub', room: ROOM });
  await w1.until(() => events(w1).filter((x) => x === 'join:carol').length === 2, 5000, 'carol joins again');
  assert.deepEqual(members(await w1.ok({ op: 'presence', room: ROOM })), { w1: 1, bob: 1, carol: 1 });
});
