// 4002 is for a client that does not read, never for the edge's own batching (PROTOCOL.md, close
// codes; docs/ARCHITECTURE.md, the slow-reader policy). With outq-max-bytes at 256 KiB (so that every
// broker burst below passes it: an edge that judged a client by what its own batching queued would cut
// it off at once, as earlier versions did) and the default outq-hard-bytes (8 MiB) and slow-timeout
// (5 s), a client that reads as fast as loopback allows gets:
//  - a 2 MB burst of notifications (100 of ~20 KB, published at once over MQTT QoS 1), and
//  - 30 room messages of 60 KB published at once by a backend (1.8 MB in one broker read burst),
// every one exactly once, in order, and stays connected; the edge counts no slow-consumer close.
import assert from 'node:assert/strict';
import { scenario, topics, httpGet, delay } from './lib/harness.mjs';

const metric = async (edge, re) => Number(re.exec((await httpGet(edge.port, '/metrics')).body)?.[1] ?? NaN);
const slowCloses = (edge) => metric(edge, /^mqedge_closes_total\{reason="slow_consumer"\} (\d+)$/m);

scenario('a client reading at full speed gets 2 MB of notifications and 1.8 MB of room messages without 4002', { timeout: 60000 }, async (env) => {
  const { edges: [edge] } = await env.cluster(1, { extra: ['--outq-max-bytes', '262144'] });
  const backend = await env.mqtt();
  const reader = await env.connect(edge, { user: 'reader', extra: { rooms: ['big'] } });
  // the big frames are set aside as they come (schema-checked, kept in reader.ignored)
  const isBig = (f) => f.op === 'notify' || (f.op === 'msg' && f.room === 'big' && f.data?.pad !== undefined);
  reader.ignore(isBig);
  await reader.ok({ op: 'sub', room: 'big' });
  await env.syncTopic(topics.room('big'), [reader]);

  // 100 notifications of ~20 KB at once
  const pad20k = 'n'.repeat(20000);
  await Promise.all(Array.from({ length: 100 }, (_, i) =>
    backend.pub(topics.notify('reader'), { id: `big-${i}`, kind: 'mailbox', actor: 'sender', data: { i, pad: pad20k } })));
  await reader.until(() => reader.ignored.filter((f) => f.op === 'notify').length >= 100, 20000, '100 notifications');
  const notes = reader.ignored.filter((f) => f.op === 'notify').map((f) => f.id);
  assert.deepEqual(notes, Array.from({ length: 100 }, (_, i) => `big-${i}`), 'each notification once, in order');
  assert.equal(reader.closed, null, `still connected after the notifications: ${JSON.stringify(reader.closed)}`);

  // 30 room messages of 60 KB at once, from a backend
  const pad60k = 'r'.repeat(60000);
  await Promise.all(Array.from({ length: 30 }, (_, i) =>
    backend.pub(topics.room('big'), { v: 1, id: `room-${i}`, data: { i, pad: pad60k } })));
  await reader.until(() => reader.ignored.filter((f) => f.op === 'msg' && isBig(f)).length >= 30, 20000, '30 room messages');
  const msgs = reader.ignored.filter((f) => f.op === 'msg' && isBig(f)).map((f) => f.id);
  assert.deepEqual(msgs, Array.from({ length: 30 }, (_, i) => `room-${i}`), 'each room message once, in order');
  assert.equal(reader.closed, null, `still connected after the room burst: ${JSON.stringify(reader.closed)}`);

  // nothing more arrives late, nothing twice, and the edge never saw a slow consumer
  const seen = reader.ignored.length;
  await delay(300);
  assert.equal(reader.ignored.length, seen, 'nothing more came');
  assert.equal(await slowCloses(edge), 0);
  assert.equal((await reader.request({ op: 'ping' })).op, 'pong');
});
