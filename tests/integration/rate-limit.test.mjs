// Each connection has a token bucket. With --rate 10 --burst 10 --rate-strikes 5, a client that fires
// 50 pings at once gets its burst answered with pongs, then rate_limited errors (each one a strike), and
// once its strikes are gone the edge closes it with 1008. A client on the same edge that stays within the
// rate is never limited, and is not disturbed by its noisy neighbour.
import assert from 'node:assert/strict';
import { scenario, delay } from './lib/harness.mjs';

scenario('a flood is rate limited, then closed with 1008; a polite client never is', { timeout: 60000 }, async (env) => {
  const { edges: [edge] } = await env.cluster(1, { extra: ['--rate', '10', '--burst', '10', '--rate-strikes', '5'] });
  const polite = await env.connect(edge, { user: 'polite' });
  const flood = await env.connect(edge, { user: 'flood' });
  assert.equal(flood.welcome.limits.rate, 10);
  assert.equal(flood.welcome.limits.burst, 10);

  for (let i = 0; i < 50; i++) flood.send({ op: 'ping', ref: `f${i}` });
  const closed = await flood.waitClose(15000);
  assert.equal(closed.code, 1008, `flood closed with ${closed.code} (${closed.reason})`);
  // rate_limited replies may or may not echo ref (the frame "was not processed": PROTOCOL.md does not say
  // whether the edge parses it far enough to find the ref), so they are counted without it.
  const replies = flood.all.filter((f) => f.op !== 'welcome');
  const pongs = replies.filter((f) => f.op === 'pong');
  const limited = replies.filter((f) => f.op === 'error' && f.code === 'rate_limited');
  const shape = JSON.stringify(replies.map((f) => f.op + (f.code ? ':' + f.code : '')));
  assert.ok(pongs.length >= 1, `the burst was served: ${shape}`);
  assert.ok(pongs.length <= 10 + 5, `at most burst (+ refill) pongs: ${shape}`);
  assert.ok(limited.length >= 1, `some frames were answered rate_limited before the close: ${shape}`);
  assert.ok(limited.length <= 6, `strikes run out after about rate-strikes (5) replies: ${shape}`);
  assert.equal(replies.length, pongs.length + limited.length, `only pongs and rate_limited: ${shape}`);
  for (const f of limited) if ('ref' in f) assert.match(String(f.ref), /^f\d+$/, 'an echoed ref is one of ours');
  assert.equal(new Set(pongs.map((f) => f.ref)).size, pongs.length, 'at most one pong per ping');
  // The first replies are pongs (the bucket starts full), the rate_limited ones come after.
  assert.equal(replies[0].op, 'pong');

  // The polite client: about 5 frames per second for 4 seconds, never limited.
  for (let i = 0; i < 20; i++) {
    const r = await polite.request({ op: 'ping' });
    assert.equal(r.op, 'pong', `polite ping ${i}: ${JSON.stringify(r)}`);
    await delay(200); // pacing, not waiting for readiness
  }
  assert.equal(polite.closed, null);
  assert.equal((await edge.healthz()).status, 200);
});
