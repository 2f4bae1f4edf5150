// Operators watch mqedge/v1/edge/<id>/status, a retained message. While edge e1 runs it says online.
// When e1 is killed with SIGKILL it cannot say goodbye: the broker publishes its last will, offline (and
// a subscriber arriving later still reads offline, so the will is retained). Restarted, e1 is online
// again. On SIGTERM e1 shuts down cleanly: its WebSocket clients are closed with 1001 and the status is
// offline too.
import assert from 'node:assert/strict';
import { scenario, topics, assertEdgeStatus } from './lib/harness.mjs';

const statusOf = async (env, broker, edgeId, want, { fresh = true, peer } = {}) => {
  const p = fresh ? await env.mqtt(broker, { name: `operator-${want}` }) : peer;
  if (fresh) await p.sub(topics.status(edgeId));
  const m = await p.next((x) => x.topic === topics.status(edgeId) && x.json?.status === want, 15000, `${edgeId} status ${want}`);
  assertEdgeStatus(m.json);
  assert.equal(m.json.edge, edgeId);
  if (fresh) {
    assert.equal(m.retain, true, 'the status is retained');
    await p.end();
  }
  return m;
};

scenario('retained edge status: online, last will on SIGKILL, offline on SIGTERM', { timeout: 90000 }, async (env) => {
  const { broker, edges: [e1] } = await env.cluster(1);
  const online = await statusOf(env, broker, 'e1', 'online');
  assert.equal(typeof online.json.version, 'string');
  assert.ok(Math.abs(online.json.ts - Date.now()) < 120000);

  // SIGKILL: the will.
  const live = await env.mqtt(broker, { name: 'live-operator' });
  await live.sub(topics.status('e1'));
  await live.next((x) => x.json?.status === 'online', 5000, 'retained online');
  await e1.kill('SIGKILL');
  await statusOf(env, broker, 'e1', 'offline', { fresh: false, peer: live });
  await statusOf(env, broker, 'e1', 'offline'); // a later subscriber sees it retained

  // Back up: online again.
  await e1.restart();
  await live.next((x) => x.json?.status === 'online', 15000, 'online after restart');
  await statusOf(env, broker, 'e1', 'online');

  // SIGTERM: clients get 1001, the status goes offline.
  const c = await env.connect(e1, { user: 'stayer' });
  await e1.kill('SIGTERM', 15000);
  const closed = await c.waitClose(5000);
  assert.equal(closed.code, 1001, `clients are told the edge is going away (got ${closed.code})`);
  await statusOf(env, broker, 'e1', 'offline', { fresh: false, peer: live });
  await statusOf(env, broker, 'e1', 'offline');
});
