// WebSocket heartbeats. With --ping-interval 1 --ping-timeout 1, the edge PINGs idle connections. An npm
// `ws` client answers PINGs automatically: it keeps receiving them and stays connected across several
// intervals. A raw client that never answers is dropped (TCP ends, no close frame: PROTOCOL.md) after
// interval + timeout, each up to a tick later (the heartbeat wheel sweeps every 100 ms): 2 to 2.2 s
// here, asserted as 1.9 to 3.5 s (a loaded sanitizer build).
import assert from 'node:assert/strict';
import { scenario } from './lib/harness.mjs';

scenario('PINGs keep answering clients alive and drop silent ones', { timeout: 60000 }, async (env) => {
  const { edges: [edge] } = await env.cluster(1, { extra: ['--ping-interval', '1', '--ping-timeout', '1'] });
  const good = await env.connect(edge, { user: 'answers' });
  const silent = await env.raw(edge, { user: 'silent', autoPong: false });
  await silent.nextJson((f) => f.op === 'welcome', 5000, 'welcome');
  const t0 = Date.now();

  // The silent client gets one PING and is then dropped.
  await silent.waitFor((c) => c.pings >= 1, 10000, 'a PING');
  const end = await silent.waitClosed(15000);
  const after = Date.now() - t0;
  assert.deepEqual([end.closeFrame ?? null, end.ended], [null, true], 'dropped without a close frame');
  assert.ok(after >= 1900 && after <= 3500, `dropped ${after} ms after its welcome (want 2-2.2 s)`);
  assert.equal(silent.pings, 1, 'one PING, then the drop');

  // The good client has seen several PINGs by now and is still connected.
  await good.until((c) => c.pings >= 3, 15000, 'three PINGs at the answering client');
  assert.equal(good.closed, null, 'answering client still connected');
  assert.equal((await good.request({ op: 'ping' })).op, 'pong');
  assert.equal(good.closed, null);
});
