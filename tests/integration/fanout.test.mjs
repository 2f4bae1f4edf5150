// Cross-edge room fan-out. A broker and two edges; three members of room "hall" on edge e1 and three on
// e2. Four of them (two per edge) publish interleaved, pipelined, without waiting for each other. Every
// member on both edges must receive every message exactly once -- including each publisher its own
// message, which comes back through the broker like everyone else's -- and all members must see the
// messages in the same order, with each publisher's messages in the order it sent them. The ok for a
// pub carries the id and ts of the message; the msg frames carry the same id and ts plus room, from, data.
import assert from 'node:assert/strict';
import { scenario, topics } from './lib/harness.mjs';

const ROOM = 'hall';
const PER_PUBLISHER = 25;

scenario('room messages fan out across two edges exactly once, in one order', { timeout: 90000 }, async (env) => {
  const { edges: [e1, e2] } = await env.cluster(2);
  const extra = { rooms: ['hall', 'other'] };
  const members = [];
  for (const [edge, names] of [[e1, ['a1', 'a2', 'a3']], [e2, ['b1', 'b2', 'b3']]])
    for (const user of names) members.push(await env.connect(edge, { user, extra }));
  for (const m of members) {
    const ok = await m.ok({ op: 'sub', room: ROOM });
    assert.equal(ok.op, 'ok');
    assert.equal(await m.ok({ op: 'sub', room: ROOM }).then((r) => r.op), 'ok', 'sub is idempotent');
  }
  // A non-member on e2 (joined another room) must not see any of it.
  const outsider = await env.connect(e2, { user: 'zed', extra });
  await outsider.ok({ op: 'sub', room: 'other' });
  await env.syncTopic(topics.room(ROOM), members);

  const publishers = [members[0], members[1], members[3], members[4]]; // a1, a2 on e1; b1, b2 on e2
  const sent = []; // { pub, seq, reply promise }
  for (let seq = 0; seq < PER_PUBLISHER; seq++)
    for (const p of publishers) sent.push({ p, seq, reply: p.request({ op: 'pub', room: ROOM, data: { from: p.user, seq, text: `${p.user} says ${seq}` } }) });
  const oks = [];
  for (const s of sent) {
    const r = await s.reply;
    assert.equal(r.op, 'ok', `pub ${s.p.user}#${s.seq} answered ${JSON.stringify(r)}`);
    assert.equal(typeof r.id, 'string');
    assert.ok(r.id.startsWith(`${s.p.welcome.edge}.`), `edge-assigned id ${r.id} starts with the edge id`);
    assert.ok(Number.isInteger(r.ts) && Math.abs(r.ts - Date.now()) < 60000, `ts ${r.ts} is a plausible epoch-ms`);
    oks.push({ ...s, id: r.id, ts: r.ts });
  }
  const byId = new Map(oks.map((o) => [o.id, o]));
  assert.equal(byId.size, oks.length, 'message ids are unique');

  const total = oks.length;
  for (const m of members) await m.until((c) => c.roomMsgs(ROOM).length >= total, 15000, `${total} messages at ${m.name}`);
  // Anything extra (duplicates) would arrive right behind: give it a moment.
  await members[0].none(() => false, 500);

  let reference = null;
  for (const m of members) {
    const got = m.roomMsgs(ROOM);
    assert.equal(got.length, total, `${m.name} got ${got.length} room messages, want ${total} (duplicates?)`);
    const ids = got.map((f) => f.id);
    assert.equal(new Set(ids).size, total, `${m.name} got a message twice`);
    for (const f of got) {
      const o = byId.get(f.id);
      assert.ok(o, `${m.name} got a message nobody sent: ${JSON.stringify(f)}`);
      assert.equal(f.room, ROOM);
      assert.equal(f.from, o.p.user, 'from is the publishing user');
      assert.equal(f.ts, o.ts, 'msg ts equals the ts in the publisher\'s ok');
      assert.deepEqual(f.data, { from: o.p.user, seq: o.seq, text: `${o.p.user} says ${o.seq}` });
      assert.equal(f.enc, undefined, 'JSON data carries no enc');
    }
    // Each publisher's messages in its own order.
    for (const p of publishers) {
      const seqs = got.filter((f) => f.from === p.user).map((f) => f.data.seq);
      assert.deepEqual(seqs, [...Array(PER_PUBLISHER).keys()], `${m.name} sees ${p.user}'s messages in send order`);
    }
    if (!reference) reference = ids;
    else assert.deepEqual(ids, reference, `${m.name} sees the same order as ${members[0].name}`);
  }
  // The sender got its own message exactly once (checked above as a member); the outsider none.
  await outsider.none((f) => f.op === 'msg', 300, 'room message for a non-member');
});
