// Per-connection and per-user limits. With --max-rooms 3, a connection joins three rooms; the fourth sub
// is refused with too_many_rooms, re-joining a joined room is still ok (idempotent, not counted), and
// after an unsub there is room again. With --max-conns-per-user 2, a user's third simultaneous connection
// to the edge is refused with HTTP 429 too_many_connections while other users are unaffected; when one of
// the two closes, the user may connect again.
import assert from 'node:assert/strict';
import { scenario, waitFor } from './lib/harness.mjs';

scenario('max-rooms and max-conns-per-user', { timeout: 60000 }, async (env) => {
  const { edges: [edge] } = await env.cluster(1, { extra: ['--max-rooms', '3', '--max-conns-per-user', '2'] });
  const c = await env.connect(edge, { user: 'joiner', extra: { rooms: ['*'] } });
  assert.equal(c.welcome.limits.max_rooms, 3);
  for (const room of ['r1', 'r2', 'r3']) await c.ok({ op: 'sub', room });
  await c.err({ op: 'sub', room: 'r4' }, 'too_many_rooms');
  await c.ok({ op: 'sub', room: 'r2' });
  await c.ok({ op: 'unsub', room: 'r1' });
  await c.ok({ op: 'unsub', room: 'r1' }); // idempotent
  await c.ok({ op: 'sub', room: 'r4' });
  await c.err({ op: 'sub', room: 'r5' }, 'too_many_rooms');
  // The limit is per connection: the same user's second connection has its own three.
  const c2 = await env.connect(edge, { user: 'joiner', extra: { rooms: ['*'] }, name: 'joiner-2' });
  for (const room of ['r5', 'r6', 'r7']) await c2.ok({ op: 'sub', room });

  // Two connections of 'joiner' are open: the third is refused before the upgrade.
  const r = await env.connectRefused(edge, { user: 'joiner', name: 'joiner-3' });
  assert.equal(r.status, 429);
  assert.equal(r.body.error, 'too_many_connections');
  const other = await env.connect(edge, { user: 'someone-else' });
  assert.equal(other.welcome.user, 'someone-else');
  // The refused attempt did not disturb the two open ones.
  assert.equal((await c.request({ op: 'ping' })).op, 'pong');
  assert.equal((await c2.request({ op: 'ping' })).op, 'pong');

  // After one closes, a new connection is accepted (as soon as the edge has noticed the close).
  c2.close();
  await c2.waitClose(5000);
  const again = await waitFor(
    async () => {
      const res = await env._open(edge, { user: 'joiner', name: 'joiner-again' });
      if (res.client) return res.client;
      assert.equal(res.status, 429, `while the edge catches up, only 429: ${JSON.stringify(res.body)}`);
      return null;
    },
    { timeoutMs: 5000, intervalMs: 100, what: 'a new connection after one closed' },
  );
  assert.equal(again.welcome.user, 'joiner');
});
