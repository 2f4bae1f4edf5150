// Room history and resume (PROTOCOL.md section 10). Rooms matching --history-rooms keep a window of
// their newest messages; every message carries its position {epoch, offset}, the same on every edge;
// a client that lost its connection sends sub with since = its last position and gets every missed
// message once, in order, before anything newer, then ok with recovered:true — on the edge it lost,
// on another edge, or on an edge that did not follow the room yet (it takes the window over from the
// others through the broker). When that cannot be complete, nothing is replayed and recovered is false.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { scenario, delay, topics, httpGet } from './lib/harness.mjs';

const HIST = ['--history-rooms', 'h-*=500/600,small-*=10', '--history-fetch-timeout', '500'];
const claims = { rooms: ['h-*', 'small-*', 'plain'] };
const pos = (f) => ({ epoch: f.epoch, offset: f.offset });
const msgsAfter = (c, room, n) => c.all.filter((f) => f.op === 'msg' && f.room === room).slice(n);

// The frames c received after index `from` in c.all, up to and including the reply with ref.
function framesUntilReply(c, from, ref) {
  const out = [];
  for (const f of c.all.slice(from)) {
    out.push(f);
    if (f.ref === ref) return out;
  }
  throw new Error(`${c.name}: no reply ${ref}`);
}

// Sends a resuming sub and returns { ok, replay }: the ok and every msg of room that came before it.
async function resume(c, room, since) {
  const from = c.all.length;
  const ref = `resume-${room}-${Date.now()}`;
  const ok = await c.ok({ op: 'sub', room, since, ref });
  const frames = framesUntilReply(c, from, ref);
  return { ok, replay: frames.filter((f) => f.op === 'msg' && f.room === room) };
}

// Asserts that got (msg frames) are exactly want (msg frames), compared by data and position.
function sameMessages(got, want, what) {
  const key = (f) => `${JSON.stringify(f.data)}@${f.epoch}:${f.offset}`;
  assert.deepEqual(got.map(key), want.map(key), what);
}

scenario('history: resume on the same edge, on the other edge and on an edge new to the room — every missed message once, in order, before anything newer', { timeout: 90000 }, async (env) => {
  const { broker, edges: [e1, e2, e3] } = await env.cluster(3, { extra: HIST });
  const ROOM = 'h-chat';
  // two watchers that never drop, one per edge: the reference order (the broker's)
  const w1 = await env.connect(e1, { user: 'w1', extra: claims });
  const w2 = await env.connect(e2, { user: 'w2', extra: claims });
  const okw1 = await w1.ok({ op: 'sub', room: ROOM });
  const okw2 = await w2.ok({ op: 'sub', room: ROOM });
  // the second edge took the first one's epoch over: positions agree
  assert.match(okw1.epoch, /^[0-9a-f]{16}$/);
  assert.equal(okw2.epoch, okw1.epoch, 'both edges are in one epoch');
  assert.equal(okw1.offset, 0);
  assert.equal(okw2.offset, 0);

  const p1 = await env.connect(e1, { user: 'p1', extra: claims });
  const p2 = await env.connect(e2, { user: 'p2', extra: claims });
  const backend = await env.mqtt(broker, { name: 'backend' });
  let n = 0;
  // one round: a client on each edge and a backend over MQTT (a bare JSON payload), 3 messages
  async function publishRound() {
    await p1.ok({ op: 'pub', room: ROOM, data: { n: ++n, via: 'p1' } });
    await p2.ok({ op: 'pub', room: ROOM, data: { n: ++n, via: 'p2' } });
    await backend.pub(topics.room(ROOM), JSON.stringify({ n: ++n, via: 'backend' }));
  }
  const readers = [];
  for (const [edge, name] of [[e1, 'r-same'], [e1, 'r-other'], [e1, 'r-new']]) {
    const r = await env.connect(edge, { user: name, extra: claims });
    await r.ok({ op: 'sub', room: ROOM });
    readers.push(r);
  }
  for (let i = 0; i < 4; i++) await publishRound();
  await w1.until(() => w1.roomMsgs(ROOM).length === n, 5000, 'w1 has the first 12');
  await w2.until(() => w2.roomMsgs(ROOM).length === n, 5000, 'w2 has the first 12');
  for (const r of readers) await r.until(() => r.roomMsgs(ROOM).length === n, 5000, `${r.name} has the first 12`);

  // every edge numbers the stream alike: both watchers see the same offsets for the same data
  sameMessages(w2.roomMsgs(ROOM), w1.roomMsgs(ROOM), 'watchers agree');
  assert.deepEqual(w1.roomMsgs(ROOM).map((f) => f.offset), Array.from({ length: n }, (_, i) => i + 1));

  // the readers drop; 100 more messages (34 rounds of 3, minus 2) come from both edges and the backend
  const last = readers.map((r) => pos(r.roomMsgs(ROOM).at(-1)));
  for (const r of readers) r.terminate();
  const before = n;
  while (n - before < 99) await publishRound();
  await p1.ok({ op: 'pub', room: ROOM, data: { n: ++n, via: 'p1' } });
  assert.equal(n - before, 100);
  await w1.until(() => w1.roomMsgs(ROOM).length === n, 10000, 'w1 has all');
  await w2.until(() => w2.roomMsgs(ROOM).length === n, 10000, 'w2 has all');
  sameMessages(w2.roomMsgs(ROOM), w1.roomMsgs(ROOM), 'watchers agree on 112');
  const missed = w1.roomMsgs(ROOM).slice(before);

  for (const [i, edge] of [[0, e1], [1, e2], [2, e3]]) {
    const c = await env.connect(edge, { user: readers[i].name, extra: claims });
    const { ok, replay } = await resume(c, ROOM, last[i]);
    assert.equal(ok.recovered, true, `${c.name}: recovered ${JSON.stringify(ok)}`);
    assert.equal(ok.reason, undefined);
    assert.deepEqual(pos(ok), { epoch: okw1.epoch, offset: n }, `${c.name}: the position now`);
    // 100 for the first; each later reader also missed the live message sent to the ones before
    assert.equal(replay.length, 100 + i);
    sameMessages(replay, missed, `${c.name}: every missed message, in order, once`);
    assert.equal(new Set(replay.map((f) => f.offset)).size, replay.length, 'no duplicate');
    // then live: the next message comes after the ok, with the next offset, once
    const from = c.all.length;
    await p2.ok({ op: 'pub', room: ROOM, data: { n: ++n, via: 'p2' } });
    const live = await c.next((f) => f.op === 'msg' && f.room === ROOM && f.data.n === n, 5000, 'the live message');
    assert.equal(live.offset, n);
    await delay(200);
    assert.equal(msgsAfter(c, ROOM, 0).filter((f) => f.data.n === n).length, 1, 'the live one came once');
    assert.ok(c.all.slice(from).every((f) => f.op !== 'msg' || f.data.n === n), 'nothing else came after the ok');
    await w1.until(() => w1.roomMsgs(ROOM).length === n, 5000, 'w1 has the live one');
    missed.push(w1.roomMsgs(ROOM).at(-1));	// the next reader missed it too
  }
  // e3 had nobody in the room: it took the window over from the others
  const m3 = (await httpGet(e3.port, '/metrics')).body;
  assert.match(m3, /mqedge_history_fetches_adopted_total 1\b/, 'e3 adopted a window');
  // nobody waited for the fetch timeout: e1 started the epoch when e2 and e3 said they do not follow
  // the room, e2 and e3 adopted the window
  for (const e of [e1, e2, e3]) assert.match((await httpGet(e.port, '/metrics')).body, /mqedge_history_fetches_timed_out_total 0\b/, e.name);
  assert.match((await httpGet(e1.port, '/metrics')).body, /mqedge_history_epochs_total 1\b/);
});

scenario('history: recovered:false, with nothing replayed, when the position is too old, from another epoch, ahead, or the window was lost with its edge', { timeout: 60000 }, async (env) => {
  const { edges: [e1] } = await env.cluster(1, { extra: HIST });
  const w = await env.connect(e1, { user: 'w', extra: claims });
  const p = await env.connect(e1, { user: 'p', extra: claims });
  const ok0 = await w.ok({ op: 'sub', room: 'small-a' });
  // alone on the broker: the edge starts the epoch as soon as its request comes back, no timeout
  assert.match((await httpGet(e1.port, '/metrics')).body, /mqedge_history_fetches_timed_out_total 0\b/);
  for (let i = 1; i <= 5; i++) await p.ok({ op: 'pub', room: 'small-a', data: { i } });
  await w.until(() => w.roomMsgs('small-a').length === 5, 5000, '5 messages');
  const at5 = pos(w.roomMsgs('small-a').at(-1));
  assert.deepEqual(at5, { epoch: ok0.epoch, offset: 5 });

  // within the window (size 10): complete
  let c = await env.connect(e1, { user: 'c', extra: claims });
  let r = await resume(c, 'small-a', { epoch: ok0.epoch, offset: 2 });
  assert.equal(r.ok.recovered, true);
  assert.deepEqual(r.replay.map((f) => f.data.i), [3, 4, 5]);
  // the position of the last ok, with no message received since: nothing missed
  c.terminate();
  c = await env.connect(e1, { user: 'c', extra: claims });
  r = await resume(c, 'small-a', { epoch: ok0.epoch, offset: 5 });
  assert.equal(r.ok.recovered, true);
  assert.equal(r.replay.length, 0);
  c.terminate();

  // 12 more: offsets 6..17, the window (10) holds 8..17; offset 5 needs 6 and 7: too old
  for (let i = 6; i <= 17; i++) await p.ok({ op: 'pub', room: 'small-a', data: { i } });
  await w.until(() => w.roomMsgs('small-a').length === 17, 5000, '17 messages');
  c = await env.connect(e1, { user: 'c', extra: claims });
  r = await resume(c, 'small-a', at5);
  assert.deepEqual({ recovered: r.ok.recovered, reason: r.ok.reason }, { recovered: false, reason: 'too_old' });
  assert.equal(r.replay.length, 0, 'nothing replayed: not a partial replay presented as anything');
  assert.deepEqual(pos(r.ok), { epoch: ok0.epoch, offset: 17 }, 'the position to continue from');
  // offset 7 is the oldest complete one (8..17 all held)
  c.terminate();
  c = await env.connect(e1, { user: 'c', extra: claims });
  r = await resume(c, 'small-a', { epoch: ok0.epoch, offset: 7 });
  assert.equal(r.ok.recovered, true);
  assert.deepEqual(r.replay.map((f) => f.data.i), [8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);

  // unknown and garbage epochs, an offset not reached yet
  for (const [since, reason] of [
    [{ epoch: '0123456789abcdef', offset: 3 }, 'epoch'],
    [{ epoch: 'not an epoch at all', offset: 3 }, 'epoch'],
    [{ epoch: ok0.epoch, offset: 1000 }, 'ahead'],
  ]) {
    const d = await env.connect(e1, { user: 'd', extra: claims });
    const x = await resume(d, 'small-a', since);
    assert.deepEqual({ recovered: x.ok.recovered, reason: x.ok.reason }, { recovered: false, reason }, JSON.stringify(since));
    assert.equal(x.replay.length, 0);
    // subscribed anyway: the next message arrives live
    await p.ok({ op: 'pub', room: 'small-a', data: { live: reason } });
    await d.next((f) => f.op === 'msg' && f.data.live === reason, 5000, 'live after recovered:false');
    d.close();
  }
  // a room without history: recovered false, no position
  r = await resume(c, 'plain', { epoch: ok0.epoch, offset: 1 });
  assert.deepEqual({ recovered: r.ok.recovered, reason: r.ok.reason, epoch: r.ok.epoch }, { recovered: false, reason: 'no_history', epoch: undefined });
  // malformed since: an error, and the connection stays
  for (const since of [{ epoch: ok0.epoch }, { epoch: 5, offset: 1 }, { epoch: ok0.epoch, offset: -1 }, 'x', { epoch: '', offset: 1 }]) {
    const e = await c.err({ op: 'sub', room: 'small-b', since }, 'bad_request', { raw: true });
    assert.match(e.message, /since/);
  }
  await c.err({ op: 'sub', device: 'dev1', since: { epoch: ok0.epoch, offset: 1 } }, 'bad_request', { raw: true });
  assert.equal((await c.ok({ op: 'ping' })).op, 'pong');

  // the edge that kept the window dies (SIGKILL) and comes back: its window is gone, and nobody else
  // had it, so the old position is answered recovered:false, never with a partial replay
  const at17 = { epoch: ok0.epoch, offset: 17 };
  await e1.restart();
  const q = await env.connect(e1, { user: 'q', extra: claims });
  r = await resume(q, 'small-a', at17);
  assert.deepEqual({ recovered: r.ok.recovered, reason: r.ok.reason }, { recovered: false, reason: 'epoch' });
  assert.equal(r.replay.length, 0);
  assert.notEqual(r.ok.epoch, ok0.epoch, 'a new epoch');
  assert.equal(r.ok.offset, 0);
});

scenario('history: the history op pages the window; two edges that start a room at once agree on one epoch', { timeout: 60000 }, async (env) => {
  const { edges: [e1, e2] } = await env.cluster(2, { extra: HIST });
  // both edges start following h-race at the same moment: one epoch, not two
  const a = await env.connect(e1, { user: 'a', extra: claims });
  const b = await env.connect(e2, { user: 'b', extra: claims });
  const [oka, okb] = await Promise.all([a.ok({ op: 'sub', room: 'h-race' }), b.ok({ op: 'sub', room: 'h-race' })]);
  assert.equal(oka.epoch, okb.epoch, 'one epoch for the room');

  for (let i = 1; i <= 25; i++) await a.ok({ op: 'pub', room: 'h-race', data: { i } });
  await b.until(() => b.roomMsgs('h-race').length === 25, 5000, '25 messages');
  let page = await b.ok({ op: 'history', room: 'h-race', limit: 10 });
  assert.equal(page.room, 'h-race');
  assert.equal(page.epoch, oka.epoch);
  assert.deepEqual(page.msgs.map((f) => f.offset), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
  assert.deepEqual(page.msgs.map((f) => f.data.i), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
  assert.equal(page.more, true);
  page = await b.ok({ op: 'history', room: 'h-race', limit: 10, before: 16 });
  assert.deepEqual(page.msgs.map((f) => f.offset), [6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  page = await b.ok({ op: 'history', room: 'h-race', before: 6 });
  assert.deepEqual(page.msgs.map((f) => f.offset), [1, 2, 3, 4, 5]);
  assert.equal(page.more, false);
  // the same page on the other edge: the same messages
  const pa = await a.ok({ op: 'history', room: 'h-race', before: 6 });
  sameMessages(pa.msgs, page.msgs, 'both edges page alike');
  // the default limit is 50
  assert.equal((await a.ok({ op: 'history', room: 'h-race' })).msgs.length, 25);

  await a.err({ op: 'history', room: 'plain' }, 'bad_request');
  await a.err({ op: 'history', room: 'h-other' }, 'not_subscribed');
  await a.err({ op: 'history', room: 'h-race', limit: 0 }, 'bad_request', { raw: true });
  await a.err({ op: 'history', room: 'h-race', limit: 201 }, 'bad_request', { raw: true });
  await a.err({ op: 'history', room: 'h-race', before: 0 }, 'bad_request', { raw: true });
  await a.err({ op: 'history', room: 'x-forbidden' }, 'forbidden');
});

scenario('history: a replay or a page never gets the client cut off as a slow consumer: too_large, and pages bounded in bytes', { timeout: 60000 }, async (env) => {
  // hard bound 400,000 bytes: a replay may take 300,000 (3/4), a page 100,000 (1/4)
  const { edges: [e1] } = await env.cluster(1, { extra: [...HIST, '--outq-hard-bytes', '400000', '--outq-max-bytes', '100000'] });
  const w = await env.connect(e1, { user: 'w', extra: claims });
  const p = await env.connect(e1, { user: 'p', extra: claims });
  const ok0 = await w.ok({ op: 'sub', room: 'h-big' });
  const big = 'x'.repeat(40000);
  for (let i = 1; i <= 10; i++) await p.ok({ op: 'pub', room: 'h-big', data: { i, big } });
  await w.until(() => w.roomMsgs('h-big').length === 10, 10000, '10 big messages');
  // 8 missed x ~40 KB > 300,000: nothing replayed, the client stays connected
  let c = await env.connect(e1, { user: 'c', extra: claims });
  let r = await resume(c, 'h-big', { epoch: ok0.epoch, offset: 2 });
  assert.deepEqual({ recovered: r.ok.recovered, reason: r.ok.reason, offset: r.ok.offset }, { recovered: false, reason: 'too_large', offset: 10 });
  assert.equal(r.replay.length, 0);
  // 7 missed fit
  c.terminate();
  c = await env.connect(e1, { user: 'c', extra: claims });
  r = await resume(c, 'h-big', { epoch: ok0.epoch, offset: 3 });
  assert.equal(r.ok.recovered, true);
  assert.deepEqual(r.replay.map((f) => f.data.i), [4, 5, 6, 7, 8, 9, 10]);
  // pages: 2 messages of ~40 KB each (a third would pass 100,000 bytes), newest first, then back
  const seen = [];
  let before;
  for (;;) {
    const page = await c.ok({ op: 'history', room: 'h-big', limit: 50, ...(before ? { before } : {}) });
    assert.ok(page.msgs.length >= 1 && page.msgs.length <= 2, `page of ${page.msgs.length}`);
    seen.unshift(...page.msgs.map((f) => f.data.i));
    if (!page.more) break;
    before = page.msgs[0].offset;
  }
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(c.closed, null, 'still connected');
  assert.equal((await c.ok({ op: 'ping' })).op, 'pong');
});

scenario('history: after the broker lost every session the edges refetch and agree on one epoch; a duplicate sent across a takeover is counted once; a sub undone while its window loads still gets its ok', { timeout: 60000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await env.cluster(2, { extra: HIST });
  const w1 = await env.connect(e1, { user: 'w1', extra: claims });
  await w1.ok({ op: 'sub', room: 'h-dup' });
  const backend = await env.mqtt(broker, { name: 'backend' });
  // one envelope, then (after e2 took the window over) the same envelope again, as a QoS 1 retry
  const first = JSON.stringify({ v: 1, id: 'dup-1', ts: Date.now(), data: { n: 1 } });
  await backend.pub(topics.room('h-dup'), first);
  await w1.until(() => w1.roomMsgs('h-dup').length === 1, 5000, 'w1 has 1');
  const w2 = await env.connect(e2, { user: 'w2', extra: claims });
  await w2.ok({ op: 'sub', room: 'h-dup' });
  await backend.pub(topics.room('h-dup'), first);
  await backend.pub(topics.room('h-dup'), JSON.stringify({ v: 1, id: 'n-2', ts: Date.now(), data: { n: 2 } }));
  await w1.until(() => w1.roomMsgs('h-dup').length === 2, 5000, 'w1 has 2');
  await w2.until(() => w2.roomMsgs('h-dup').length === 1, 5000, 'w2 has 1');
  await delay(300);
  assert.deepEqual(w1.roomMsgs('h-dup').map((f) => [f.data.n, f.offset]), [[1, 1], [2, 2]]);
  assert.deepEqual(w2.roomMsgs('h-dup').map((f) => [f.data.n, f.offset]), [[2, 2]], 'the duplicate was dropped on e2 too');

  // the broker restarts without its database: both edges lost their sessions at once
  await broker.kill('SIGKILL');
  rmSync(join(broker.dir, 'mosquitto.db'), { force: true });
  await broker.start({ port: broker.port });
  await e1.waitReady();
  await e2.waitReady();
  // their connected clients are told once (PROTOCOL.md section 12)
  for (const w of [w1, w2]) {
    const rs = await w.next((f) => f.op === 'resync', 5000, 'resync after the broker lost the sessions');
    assert.equal(rs.reason, 'session_lost');
    assert.equal(rs.unread, 0);
  }
  const b2 = await env.mqtt(broker, { name: 'backend2' });
  await delay(2500);	// both refetch (one waits for the other's epoch)
  for (let i = 1; i <= 3; i++) await b2.pub(topics.room('h-dup'), JSON.stringify({ i }));
  await w1.until(() => w1.roomMsgs('h-dup').length === 5, 5000, 'w1 has 3 more');
  await w2.until(() => w2.roomMsgs('h-dup').length === 4, 5000, 'w2 has 3 more');
  for (const w of [w1, w2]) assert.equal(w.all.filter((f) => f.op === 'resync').length, 1, `${w.name}: one resync`);
  const after1 = w1.roomMsgs('h-dup').slice(2);
  const after2 = w2.roomMsgs('h-dup').slice(1);
  sameMessages(after2, after1, 'one epoch, the same offsets on both edges');
  assert.notEqual(after1[0].epoch, w1.roomMsgs('h-dup')[0].epoch, 'a new epoch: the old positions were not complete');
  // a client of e1 moves to e2
  const c = await env.connect(e2, { user: 'c', extra: claims });
  const r = await resume(c, 'h-dup', { epoch: after1[0].epoch, offset: after1[0].offset });
  assert.equal(r.ok.recovered, true);
  assert.deepEqual(r.replay.map((f) => f.data.i), [2, 3]);

  // a sub that is undone before its window is ready still gets exactly one reply
  const ghost = await env.mqtt(broker, { name: 'ghost' });
  await ghost.pub(topics.status('ghost'), JSON.stringify({ edge: 'ghost', status: 'online', ts: Date.now(), boot: 1, version: 'x' }), { retain: true });
  await delay(300);
  const u = await env.connect(e1, { user: 'u', extra: claims });
  u.send({ op: 'sub', room: 'h-slow', ref: 'S1' });	// the silent ghost edge makes the fetch wait
  await delay(100);
  await u.ok({ op: 'unsub', room: 'h-slow', ref: 'U1' });
  assert.deepEqual(u.all.filter((f) => f.ref === 'S1').map((f) => f.op), ['ok']);
  await delay(700);
  assert.equal(u.all.filter((f) => f.ref === 'S1').length, 1, 'answered once');
  await ghost.pub(topics.status('ghost'), '', { retain: true });
});

// Found by the soak: an edge answering another edge's window request counted the window before
// expiring it, so with a TTL and steady traffic it read entries that had just been dropped (SIGSEGV,
// or a UBSan report). Here: messages for 2.5 s in a room with a 1 s TTL, then an edge new to the
// room asks for the window. The answering edge must stay up and hand over only the live part.
scenario('history: answering a window request right after messages expired (TTL) hands over only the live part, and the edge stays up', { timeout: 60000 }, async (env) => {
  const { edges: [e1, e2] } = await env.cluster(2, { extra: ['--history-rooms', 'ttl-*=100/1', '--history-fetch-timeout', '1000'] });
  const claims2 = { rooms: ['ttl-*'] };
  const writer = await env.connect(e1, { user: 'writer', extra: claims2 });
  await writer.ok({ op: 'sub', room: 'ttl-r' });
  for (let i = 0; i < 50; i++) {
    await writer.ok({ op: 'pub', room: 'ttl-r', data: { i } });
    await delay(50);
  }
  const reader = await env.connect(e2, { user: 'reader', extra: claims2 });
  const ok = await reader.ok({ op: 'sub', room: 'ttl-r' });
  assert.equal(ok.epoch, writer.roomMsgs('ttl-r')[0].epoch, 'e2 adopted e1\'s window');
  const page = await reader.ok({ op: 'history', room: 'ttl-r', limit: 200 });
  const kept = page.msgs.map((m) => m.data.i);
  assert.ok(kept.length > 0 && kept.length < 50, `only the live part of the window: ${kept.length} of 50`);
  assert.deepEqual(kept, Array.from({ length: kept.length }, (_, k) => 50 - kept.length + k), 'the newest, in order');
  for (const e of [e1, e2]) assert.equal((await httpGet(e.port, '/healthz')).status, 200, `${e.name} is up`);
});

// A client that moved from an edge that had already received a message still on its way to this
// edge is ahead of this edge's window by that message: its resume waits (parked, at most
// history-fetch-timeout) until the window catches up, then completes, and the message it already
// had does not come again.
scenario('history: a resume ahead of this edge by messages still in flight waits for them, then completes without duplicates', { timeout: 60000 }, async (env) => {
  const { edges: [e1] } = await env.cluster(1, { extra: HIST });
  const w = await env.connect(e1, { user: 'w', extra: claims });
  const p = await env.connect(e1, { user: 'p', extra: claims });
  const ok0 = await w.ok({ op: 'sub', room: 'small-x' });
  for (let i = 1; i <= 3; i++) await p.ok({ op: 'pub', room: 'small-x', data: { i } });
  await w.until(() => w.roomMsgs('small-x').length === 3, 5000, '3 messages');

  // the client says it has offset 4, which this edge has not received yet
  const c = await env.connect(e1, { user: 'c', extra: claims });
  const ref = 'ahead-1';
  const t0 = Date.now();
  c.send({ op: 'sub', room: 'small-x', since: { epoch: ok0.epoch, offset: 4 }, ref });
  await c.none((f) => f.ref === ref, 150, 'an answer before the window caught up');
  await p.ok({ op: 'pub', room: 'small-x', data: { i: 4 } });
  const ok = await c.next((f) => f.ref === ref, 3000, 'the resume ok');
  assert.deepEqual({ recovered: ok.recovered, epoch: ok.epoch, offset: ok.offset }, { recovered: true, epoch: ok0.epoch, offset: 4 });
  assert.ok(Date.now() - t0 < 500 + 400, 'answered when the window caught up, not after the timeout');
  await p.ok({ op: 'pub', room: 'small-x', data: { i: 5 } });
  await c.next((f) => f.op === 'msg' && f.data.i === 5, 5000, 'the next message, live');
  await delay(200);
  assert.deepEqual(c.roomMsgs('small-x').map((f) => f.offset), [5], 'offset 4 (which it had) did not come again');

  // ahead and nothing comes: recovered:false "ahead" after history-fetch-timeout (500 ms)
  const d = await env.connect(e1, { user: 'd', extra: claims });
  const t1 = Date.now();
  const r = await d.ok({ op: 'sub', room: 'small-x', since: { epoch: ok0.epoch, offset: 7 } }, { timeoutMs: 5000 });
  const waited = Date.now() - t1;
  assert.deepEqual({ recovered: r.recovered, reason: r.reason, offset: r.offset }, { recovered: false, reason: 'ahead', offset: 5 });
  assert.ok(waited >= 450 && waited < 2500, `answered after ${waited} ms (history-fetch-timeout 500)`);
  await p.ok({ op: 'pub', room: 'small-x', data: { i: 6 } });
  await d.next((f) => f.op === 'msg' && f.data.i === 6, 5000, 'subscribed anyway: live after recovered:false');
});
