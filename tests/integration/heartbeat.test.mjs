// WebSocket heartbeats. With --ping-interval 1 --ping-timeout 1, the edge PINGs idle connections. An npm
// `ws` client answers PINGs automatically: it keeps receiving them and stays connected across several
// intervals. A raw client that never answers is closed after roughly interval + timeout; the bounds here
// are deliberately generous (this is not a timing test).
import assert from 'node:assert/strict';
import { scenario } from './lib/harness.mjs';

scenario('PINGs keep answering clients alive and drop silent ones', { timeout: 60000 }, async (env) => {
  const { edges: [edge] } = await env.cluster(1, { extra: ['--ping-interval', '1', '--ping-timeout', '1'] });
  const good = await env.connect(edge, { user: 'answers' });
  const silent = await env.raw(edge, { user: 'silent', autoPong: false });
  await silent.nextJson((f) => f.op === 'welcome', 5000, 'welcome');

  // The silent client gets at least one PING and is then closed (generously bounded).
  await silent.waitFor((c) => c.pings >= 1, 10000, 'a PING');
  const end = await silent.waitClosed(15000);
  assert.ok(end.closeFrame || end.ended, 'silent client disconnected');

  // The good client has seen several PINGs by now and is still connected.
  await good.until((c) => c.pings >= 3, 15000, 'three PINGs at the answering client');
  assert.equal(good.closed, null, 'answering client still connected');
  assert.equal((await good.request({ op: 'ping' })).op, 'pong');
  assert.equal(good.closed, null);
});
