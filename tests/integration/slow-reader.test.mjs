// A slow consumer must not hurt anyone else. A raw client joins room "firehose" and then stops reading
// from its socket altogether. With --outq-max-bytes 65536, a publisher floods the room with 1 KB messages
// (a few at a time, so a member that does read never has anywhere near 64 KB waiting) until the slow
// client's kernel buffers and then its edge queue overflow -- several MB. A normal member on the same
// edge and one on another edge keep reading. The edge must cut the slow client off (close 4002, or just
// drop the TCP connection) instead of buffering without bound, every normal member still receives every
// message, and the edge stays healthy and serves new clients.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { scenario, topics } from './lib/harness.mjs';

// The edge's resident memory in KB (Linux).
const rssKb = (edge) => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${edge.proc.child.pid}/status`, 'utf8'))?.[1] ?? NaN);

const ROOM = 'firehose';
const CHUNK = 1000; // bytes of padding per message
const ROUND = 1000; // messages per round (~1 MB)
const MAX_ROUNDS = 24; // give up after ~24 MB
const WINDOW = 8; // pipelined pubs in flight: bursts stay far below outq-max-bytes

scenario('a client that never reads is cut off; others get everything', { timeout: 240000 }, async (env, t) => {
  const extra = ['--outq-max-bytes', '65536', '--rate', '100000', '--burst', '100000'];
  const { broker, edges: [e1, e2] } = await env.cluster(2, { extra });
  const claims = { rooms: [ROOM] };
  const fast1 = await env.connect(e1, { user: 'fast1', extra: claims });
  const fast2 = await env.connect(e2, { user: 'fast2', extra: claims });
  const publisher = await env.connect(e2, { user: 'publisher', extra: claims });
  for (const c of [fast1, fast2]) await c.ok({ op: 'sub', room: ROOM });

  const slow = await env.raw(e1, { user: 'slow', extra: claims });
  await slow.nextJson((f) => f.op === 'welcome', 5000, 'welcome');
  slow.sendJson({ op: 'sub', room: ROOM, ref: 'slow-sub' });
  const subOk = await slow.nextJson((f) => f.ref === 'slow-sub', 5000, 'sub reply');
  assert.equal(subOk.op, 'ok');
  // Keep the fast members' queues small: count messages, drop the frames.
  const counted = new Map([[fast1, 0], [fast2, 0]]);
  for (const c of [fast1, fast2])
    c.ignore((f) => {
      if (f.op === 'msg' && f.room === ROOM && f.data?.flood) {
        counted.set(c, counted.get(c) + 1);
        return true;
      }
      return false;
    });
  await env.syncTopic(topics.room(ROOM), [fast1, fast2]);
  slow.pause(); // from now on nothing is read from the slow client's socket
  const rssBefore = rssKb(e1);
  let rssMax = rssBefore;

  const pad = 'p'.repeat(CHUNK);
  let next = 0;
  const inflight = new Set();
  const oks = [];
  const publish = async (upTo) => {
    while (next < upTo || inflight.size) {
      while (next < upTo && inflight.size < WINDOW) {
        const n = next++;
        const p = publisher.request({ op: 'pub', room: ROOM, data: { flood: true, n, pad } }, { timeoutMs: 30000 }).then((r) => {
          inflight.delete(p);
          assert.equal(r.op, 'ok', `pub #${n}: ${JSON.stringify(r).slice(0, 200)}`);
          oks.push(r);
        });
        inflight.add(p);
      }
      await Promise.race(inflight);
    }
  };
  // Rounds of ~1 MB until the edge lets go of the slow client. The slow client cannot tell (it does not
  // read); the broker can: the edge drops its subscription to the user's direct topic when the user's
  // last connection there ends (PROTOCOL.md section 5). That only decides when to stop flooding; the
  // verdict comes from the slow client's own socket below.
  const slowGone = () => broker.log().split('\n').some((l) => / mqedge-\S+ mqedge\/v1\/user\/slow\/direct$/.test(l));
  let rounds = 0;
  while (rounds < MAX_ROUNDS && !slowGone()) {
    rounds++;
    await publish(rounds * ROUND);
    rssMax = Math.max(rssMax, rssKb(e1));
  }
  // bounded memory: what one client may hold is outq-hard-bytes (8 MiB by default, frames within 2x of
  // their bytes), whatever the flood. Under AddressSanitizer freed memory sits in its quarantine, so
  // RSS says nothing there (scripts/test.sh sets ASAN_OPTIONS for that tree only).
  t.diagnostic(`edge RSS ${rssBefore} KB before the flood, at most ${rssMax} KB during it`);
  if (!process.env.ASAN_OPTIONS)
    assert.ok(rssMax - rssBefore < 24 * 1024, `the edge's memory stayed bounded: grew by ${rssMax - rssBefore} KB`);
  const COUNT = next;
  assert.equal(oks.length, COUNT);

  for (const c of [fast1, fast2])
    await c.until(() => counted.get(c) >= COUNT, 60000, `all ${COUNT} flood messages at ${c.name} (has ${counted.get(c)})`);
  await fast1.none(() => false, 300);
  t.diagnostic(`published ${COUNT} messages (${rounds} rounds); slow client unsubscribed on the broker: ${slowGone()}`);
  assert.equal(counted.get(fast1), COUNT, 'fast1: every message exactly once');
  assert.equal(counted.get(fast2), COUNT, 'fast2: every message exactly once');

  // Now read what the slow client was sent: it must end in a close (4002) or a dropped connection, well
  // before the whole flood.
  slow.resume();
  const end = await slow.waitClosed(30000, `the slow client to be cut off (it had ${slow.json().filter((f) => f.op === 'msg').length} messages so far)`);
  if (end.closeFrame) assert.equal(end.closeFrame.code, 4002, `slow consumer close code: ${JSON.stringify(end.closeFrame)}`);
  const got = slow.json().filter((f) => f.op === 'msg').length;
  assert.ok(got < COUNT, `the slow client was cut off (it received ${got} of ${COUNT})`);

  // The edge is healthy and serves a new client.
  assert.equal((await e1.healthz()).status, 200);
  assert.equal((await e1.readyz()).status, 200);
  const fresh = await env.connect(e1, { user: 'fresh', extra: claims });
  assert.equal((await fresh.request({ op: 'ping' })).op, 'pong');
  assert.equal(fast1.closed, null);
  assert.equal(fast2.closed, null);
});
