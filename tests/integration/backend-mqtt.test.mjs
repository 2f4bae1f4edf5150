// A backend service publishes straight to the broker with MQTT.js, never touching an edge. Members of
// room "news" sit on two edges. A bare JSON payload arrives as data with an id and ts assigned by the
// receiving edge and no from; text that is not JSON arrives with "enc":"text"; bytes that are not UTF-8
// arrive base64-encoded with "enc":"base64". An envelope {"v":1,"id":"x1",...} keeps its id, ts and from,
// and when the backend publishes it twice (a retry) every member still gets it once. A JSON object that is
// not an envelope (v:2, no data, non-string id) is just data. A backend can also reach a user's direct topic.
import assert from 'node:assert/strict';
import { scenario, topics } from './lib/harness.mjs';

const ROOM = 'news';

scenario('backend MQTT payloads: JSON, text, binary, envelopes (deduped), direct', { timeout: 60000 }, async (env) => {
  const { broker, edges: [e1, e2] } = await env.cluster(2);
  const extra = { rooms: [ROOM] };
  const m1 = await env.connect(e1, { user: 'reader1', extra });
  const m2 = await env.connect(e2, { user: 'reader2', extra });
  for (const m of [m1, m2]) await m.ok({ op: 'sub', room: ROOM });
  await env.syncTopic(topics.room(ROOM), [m1, m2]);
  const backend = await env.mqtt(broker, { name: 'backend' });
  const members = [[m1, 'e1'], [m2, 'e2']];
  const t0 = Date.now();

  // 1. bare JSON
  await backend.pub(topics.room(ROOM), JSON.stringify({ kind: 'json', n: 1, nested: { list: [1, 'two', null, true] } }));
  for (const [m, edgeId] of members) {
    const f = await m.next((x) => x.op === 'msg' && x.data?.kind === 'json', 10000, 'bare JSON message');
    assert.equal(f.room, ROOM);
    assert.deepEqual(f.data, { kind: 'json', n: 1, nested: { list: [1, 'two', null, true] } });
    assert.equal('from' in f, false, 'no from for a bare backend payload');
    assert.equal(f.enc, undefined);
    assert.ok(f.id.startsWith(`${edgeId}.`), `id ${f.id} assigned by the receiving edge ${edgeId}`);
    assert.ok(f.ts >= t0 - 60000 && f.ts <= Date.now() + 60000, 'ts is a plausible epoch-ms');
  }

  // 2. bare JSON that is not an object: still JSON data
  await backend.pub(topics.room(ROOM), '[1,2,3]');
  for (const [m] of members) {
    const f = await m.next((x) => x.op === 'msg' && Array.isArray(x.data), 10000, 'JSON array payload');
    assert.deepEqual(f.data, [1, 2, 3]);
    assert.equal(f.enc, undefined);
  }

  // 3. non-JSON UTF-8 text
  const text = 'plain text, not JSON: {oops';
  await backend.pub(topics.room(ROOM), Buffer.from(text, 'utf8'));
  for (const [m] of members) {
    const f = await m.next((x) => x.op === 'msg' && x.enc === 'text', 10000, 'text payload');
    assert.equal(f.data, text);
    assert.equal('from' in f, false);
  }

  // 4. bytes that are not valid UTF-8
  const bin = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x01, 0x02, 0xf0]);
  await backend.pub(topics.room(ROOM), bin);
  for (const [m] of members) {
    const f = await m.next((x) => x.op === 'msg' && x.enc === 'base64', 10000, 'binary payload');
    assert.equal(f.data, bin.toString('base64'), 'standard base64 of the bytes');
    assert.deepEqual(Buffer.from(f.data, 'base64'), bin);
  }

  // 5. an envelope, published twice with the same id: delivered once, keeping id/ts/from
  const envTs = Date.now() - 1234;
  const envelope = { v: 1, id: `x1-${process.pid}`, ts: envTs, from: 'svc', data: { kind: 'envelope', ok: true } };
  await backend.pub(topics.room(ROOM), envelope);
  await backend.pub(topics.room(ROOM), envelope);
  for (const [m] of members) {
    const f = await m.next((x) => x.op === 'msg' && x.data?.kind === 'envelope', 10000, 'envelope message');
    assert.equal(f.id, envelope.id, 'envelope id is kept');
    assert.equal(f.from, 'svc');
    assert.equal(f.ts, envTs, 'envelope ts is kept');
    assert.deepEqual(f.data, { kind: 'envelope', ok: true });
  }
  // A marker after the duplicate: once it arrived, the duplicate would have too (same topic, in order).
  await backend.pub(topics.room(ROOM), { kind: 'marker' });
  for (const [m] of members) await m.next((x) => x.op === 'msg' && x.data?.kind === 'marker', 10000, 'marker');
  for (const [m] of members) {
    assert.equal(m.roomMsgs(ROOM).filter((x) => x.id === envelope.id).length, 1, `${m.name}: envelope delivered exactly once`);
  }

  // 6. an envelope with enc
  await backend.pub(topics.room(ROOM), { v: 1, id: `x2-${process.pid}`, from: 'svc', data: Buffer.from([0, 1, 2, 255]).toString('base64'), enc: 'base64' });
  for (const [m] of members) {
    const f = await m.next((x) => x.op === 'msg' && x.id === `x2-${process.pid}`, 10000, 'encoded envelope');
    assert.equal(f.enc, 'base64');
    assert.deepEqual(Buffer.from(f.data, 'base64'), Buffer.from([0, 1, 2, 255]));
  }

  // 7. a backend direct message to a user, as an envelope
  await env.syncTopic(topics.direct('reader2'), [m2]);
  await backend.pub(topics.direct('reader2'), { v: 1, id: `dm-${process.pid}`, ts: Date.now(), from: 'svc', data: { kind: 'dm' } });
  const dm = await m2.next((x) => x.op === 'msg' && x.data?.kind === 'dm', 10000, 'backend direct message');
  assert.equal(dm.to, 'reader2');
  assert.equal(dm.from, 'svc');
  assert.equal(dm.id, `dm-${process.pid}`);
  await m1.none((x) => x.op === 'msg' && x.data?.kind === 'dm', 300, 'direct message for someone else');

  // Nothing else arrived (every message above was consumed exactly once).
  for (const [m] of members) await m.none((x) => x.op === 'msg', 300, 'extra message');

  // 8. JSON objects that are not envelopes (PROTOCOL.md section 5: an envelope has "v":1, a string id
  // and a data member; "any other payload is delivered as data"): the whole object is data, the id is
  // the receiving edge's, there is no from.
  const notEnvelopes = [
    ['v is 2', { v: 2, id: 'not-mine', from: 'svc', data: 'x' }],
    ['no data member', { v: 1, id: 'no-data', from: 'svc' }],
    ['id not a string', { v: 1, id: 5, data: 'x' }],
    ['v is "1"', { v: '1', id: 'str-v', data: 'x' }],
  ];
  for (const [, payload] of notEnvelopes) await backend.pub(topics.room(ROOM), payload);
  // Same topic, same publisher, QoS 1: once the marker is in, everything before it would be too.
  await backend.pub(topics.room(ROOM), { kind: 'marker2' });
  for (const [m] of members) await m.next((x) => x.op === 'msg' && x.data?.kind === 'marker2', 10000, 'marker2');
  const problems = [];
  for (const [why, payload] of notEnvelopes) {
    for (const [m, edgeId] of members) {
      const f = m.frames.find((x) => x.op === 'msg' && x.data && typeof x.data === 'object' && x.data.id === payload.id);
      if (!f) problems.push(`${why}: not delivered to ${m.name}`);
      else if (JSON.stringify(f.data) !== JSON.stringify(payload)) problems.push(`${why}: data at ${m.name} is ${JSON.stringify(f.data)}`);
      else if (!f.id.startsWith(`${edgeId}.`) || 'from' in f) problems.push(`${why}: at ${m.name} id=${f.id} from=${f.from}`);
    }
  }
  assert.deepEqual(problems, [], 'non-envelope JSON objects are delivered as plain data');
});
