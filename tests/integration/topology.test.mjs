// Bridged brokers across two hosts (docs/BRIDGING.md, tests/topology/README.md). tests/topology/netns.sh
// makes two network namespaces: host A runs Mosquitto broker A with edges e1 and e2, host B broker B with
// edge e3; broker B bridges to broker A with one MQTT 5 connection over the link between the namespaces.
// The clients (npm ws, npm mqtt) stay in the root namespace. Over that fabric:
//   - the bridge: MQTT 5, persistent, from B's address on the A-B link; a probe crosses both ways once;
//   - rooms: publishers on all three edges and backends on both brokers; every member on every edge gets
//     every message exactly once and each publisher's messages in order, within a time bound; the edges'
//     dedup never had to drop a copy, and an MQTT spy on each broker sees no payload twice (bare backend
//     payloads have no id to dedupe: a copy would show);
//   - direct messages to four tabs of a user on three edges, from both hosts and a backend;
//   - devices: an MQTT device on broker B, a WebSocket device on e3, browsers and commands on host A;
//   - the inbox: HTTP ingress on e1 and MQTT on broker B, stored once per edge, pushed once per tab; a read
//     on e3 reaches the tabs on e1 and e2, and the unread counts agree everywhere;
//   - rpc, and what the bridge cannot do with it: a shared-subscription group is per broker, so a request
//     from e3 reaches a worker on each broker (the edge answers once and counts the second answer late),
//     and the bridge's own subscription hides "no subscribers" from e3 (timeout instead of no_backend);
//   - a history room followed on both hosts: same epoch and offsets on e1 and e3, a client that dropped
//     on e1 resumes on e3 with recovered:true and exactly what it missed;
//   - a bridge outage (the A-B link down until broker A drops the bridge): what entered on host A meanwhile
//     never reaches host B (Mosquitto 2.0's MQTT 5 bridge keeps no session on broker A), what entered on
//     host B does reach host A; the brokers' retained copies diverge; a history room is numbered
//     differently on the two hosts from then on;
//   - presence and the edges' status: members on all three edges; e3 SIGKILLed: its last will (retained
//     offline) crosses the bridge, its member leaves on e1 within 5 s, GET /api/v1/info on e1 drops it;
//   - broker B killed: e3 (--broker B,A, --broker-failover-after 2) moves to broker A after 2 s within a
//     bound; its clients stay connected and get one resync; a notification it took over HTTP meanwhile is
//     acknowledged once on broker A and reaches v3's tabs on e3 and e1 once; room traffic flows both ways
//     once, in order; broker A holds e3 online and its presence member stays;
//   - what is not bridged: each edge's sync barrier stays on its own broker.
// Needs root (namespaces): without it the test fails and says so.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { scenario, delay, topics, nowSec, PREFIX, waitFor, httpGet } from './lib/harness.mjs';
import { startTopology, topologyUnavailable, linkRxBytes, MQTT_PORT, BRIDGE_CLIENT_ID, BRIDGE_STATE_TOPIC } from './lib/topology.mjs';
import { api, metric, API_KEY, remind, mailbox, notifies, untilNotified, inboxAll } from './lib/inbox.mjs';
import { RpcWorker } from './lib/rpcworker.mjs';

const NAME = 'topology: three edges on two bridged brokers in two network namespaces';
const EXTRA = ['--api-key', API_KEY, '--presence-rooms', 'pres-*', '--history-rooms', 'hist-*=200/600', '--history-fetch-timeout', '1000', '--status-interval', '1', '--rpc-timeout', '1500'];
const CLAIMS = { rooms: ['*'], devices: ['d*'], cmd: ['d*'], rpc: ['*'] };
const range = (n) => Array.from({ length: n }, (_, i) => i);
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const dupDrops = (e) => metric(e, 'mqedge_drops_total{reason="duplicate"}');

// Runs one part of the story; its name prefixes a failure, its wall time goes to the TAP diagnostics.
async function part(t, name, fn) {
  const t0 = Date.now();
  try {
    await fn();
  } catch (e) {
    e.message = `[${name}] ${e.message}`;
    throw e;
  }
  t.diagnostic(`${name}: ${Date.now() - t0} ms`);
}

// A fresh MQTT subscriber's retained message on topic (null when there is none within windowMs).
async function retained(env, broker, topic, windowMs = 1000) {
  const m = await env.mqtt(broker, { name: `retained-${broker.name}` });
  try {
    await m.sub(topic);
    return await m.next((x) => x.topic === topic && x.retain, windowMs, `retained ${topic}`).catch(() => null);
  } finally {
    await m.end();
  }
}

async function info(edge) {
  const r = await httpGet(edge.port, '/api/v1/info', { host: edge.host, headers: { authorization: `Bearer ${API_KEY}` } });
  assert.equal(r.status, 200, r.body);
  return r.json;
}

const unavailable = topologyUnavailable();
if (unavailable) {
  // not a skip: ctest counts "# skipped" as a failure anyway, and a skip is not a pass
  test(NAME, () => {
    throw new Error(unavailable);
  });
} else {
  scenario(NAME, { timeout: 150000 }, async (env, t) => {
    const spies = {};
    const topo = await startTopology(env, {
      extra: EXTRA,
      e3Brokers: ['B', 'A'],
      perEdge: { e3: ['--broker-failover-after', '2'] },
      // an MQTT spy on each broker sees everything under the prefix from before the first edge starts, but
      // rpc requests (a subscriber there would answer "matched" to every request: no more no_backend)
      beforeEdges: async ({ brokerA, brokerB }) => {
        for (const [k, b] of [['A', brokerA], ['B', brokerB]]) {
          spies[k] = await env.mqtt(b, { name: `spy-${k}` });
          for (const level of ['room', 'user', 'device', 'edge', 'notify', 'presence', 'history']) await spies[k].sub(`${PREFIX}/${level}/#`);
        }
      },
    });
    const { net, brokerA, brokerB, edges: { e1, e2, e3 } } = topo;
    const edges = [e1, e2, e3];
    t.diagnostic(`run ${net.RUN}: host A ${net.HOST_A} (${net.NS_A}), host B ${net.HOST_B} (${net.NS_B})`);

    await part(t, 'bridge', async () => {
      // one MQTT 5 connection (p5), persistent (c0), keepalive 5, from B's end of the A-B link
      assert.match(topo.bridgeLine, new RegExp(`New client connected from ${esc(net.PEER_B)}:\\d+ as ${BRIDGE_CLIENT_ID} \\(p5, c0, k5\\)`));
      assert.equal(brokerA.log().split('\n').filter((l) => l.includes(`as ${BRIDGE_CLIENT_ID} `)).length, 1, 'one bridge connection');
      // its state, retained on both brokers for operators (notifications)
      for (const b of [brokerA, brokerB]) assert.equal((await retained(env, b, BRIDGE_STATE_TOPIC))?.payload.toString(), '1', `${b.name}: bridge state`);
      // a probe each way reaches the spy on the other broker once, and is not echoed back
      for (const [from, to, fromName] of [[brokerA, 'B', 'A'], [brokerB, 'A', 'B']]) {
        const topic = topics.room(`probe-${fromName}`);
        const p = await env.mqtt(from, { name: `probe-${fromName}` });
        await p.pub(topic, { probe: fromName });
        await spies[to].next((m) => m.topic === topic, 5000, `probe from ${fromName}`);
        await delay(300);
        for (const k of ['A', 'B']) assert.equal(spies[k].all.filter((m) => m.topic === topic).length, 1, `spy ${k}: probe from ${fromName} once`);
        await p.end();
      }
    });

    await part(t, 'room fan-out', async () => {
      const ROOM = 'fan';
      const M = 40; // messages per client publisher
      const N = 20; // messages per backend
      const rxA = linkRxBytes(net.NS_A);
      const rxB = linkRxBytes(net.NS_B);
      const pubs = [];
      const members = [];
      for (const e of edges) {
        pubs.push(await env.connect(e, { user: `p-${e.id}`, extra: CLAIMS }));
        members.push(await env.connect(e, { user: `m-${e.id}`, extra: CLAIMS }));
      }
      members.push(await env.connect(e3, { user: `m-${e3.id}-2`, extra: CLAIMS }));
      const all = [...pubs, ...members];
      for (const c of all) await c.ok({ op: 'sub', room: ROOM });
      await env.syncTopic(topics.room(ROOM), all, { broker: brokerB });
      await env.syncTopic(topics.room(ROOM), all, { broker: brokerA });
      const backends = { 'backend-A': await env.mqtt(brokerA, { name: 'backend-A' }), 'backend-B': await env.mqtt(brokerB, { name: 'backend-B' }) };
      const oks = new Map(pubs.map((p) => [p.user, []]));
      const t0 = Date.now();
      await Promise.all([
        ...pubs.map(async (p) => {
          for (const i of range(M)) oks.get(p.user).push(await p.ok({ op: 'pub', room: ROOM, data: { src: p.user, i } }, { timeoutMs: 10000 }));
        }),
        ...Object.entries(backends).map(async ([src, b]) => {
          for (const i of range(N)) await b.pub(topics.room(ROOM), { src, i }); // bare JSON: each edge gives it its own id
        }),
      ]);
      const total = pubs.length * M + 2 * N;
      for (const c of all) await c.until(() => c.roomMsgs(ROOM).length >= total, 20000, `${c.name}: ${total} messages`);
      const took = Date.now() - t0;
      t.diagnostic(`room fan-out: ${total} messages to ${all.length} members on 3 edges in ${took} ms`);
      assert.ok(took < 30000, `delivered within 30 s (${took} ms)`);
      await delay(500); // nothing more may come
      const sources = [...pubs.map((p) => p.user), ...Object.keys(backends)];
      for (const c of all) {
        const msgs = c.roomMsgs(ROOM);
        assert.equal(msgs.length, total, `${c.name}: exactly ${total}`);
        for (const src of sources) {
          const n = src.startsWith('backend') ? N : M;
          assert.deepEqual(msgs.filter((f) => f.data.src === src).map((f) => f.data.i), range(n), `${c.name}: ${src}'s messages once each, in order`);
        }
        assert.equal(new Set(msgs.map((f) => f.id)).size, total, `${c.name}: no id twice`);
        for (const p of pubs) {
          const mine = msgs.filter((f) => f.data.src === p.user);
          assert.deepEqual(mine.map((f) => [f.id, f.ts, f.from]), oks.get(p.user).map((o) => [o.id, o.ts, p.user]), `${c.name}: ${p.user}'s ids and ts are its oks'`);
        }
      }
      // the traffic crossed the A-B link both ways
      assert.ok(linkRxBytes(net.NS_A) - rxA > (M + N) * 60, 'host A received host B\'s messages on the A-B link');
      assert.ok(linkRxBytes(net.NS_B) - rxB > (2 * M + N) * 60, 'host B received host A\'s messages on the A-B link');
      // no edge had to drop a copy
      for (const e of edges) assert.equal(await dupDrops(e), 0, `${e.name}: no duplicate dropped`);
    });

    await part(t, 'direct messages', async () => {
      const tabs = [await env.connect(e1, { user: 'bob', name: 'bob-1' }), await env.connect(e2, { user: 'bob', name: 'bob-2' }), await env.connect(e3, { user: 'bob', name: 'bob-3' }), await env.connect(e3, { user: 'bob', name: 'bob-3b' })];
      const alice = await env.connect(e1, { user: 'alice' });
      const carol = await env.connect(e3, { user: 'carol' });
      await env.syncTopic(topics.direct('bob'), tabs, { broker: brokerA });
      await env.syncTopic(topics.direct('bob'), tabs, { broker: brokerB });
      const backend = await env.mqtt(brokerA, { name: 'backend-direct' });
      const K = 10;
      await Promise.all([
        (async () => {
          for (const i of range(K)) await alice.ok({ op: 'send', to: 'bob', data: { src: 'alice', i } });
        })(),
        (async () => {
          for (const i of range(K)) await carol.ok({ op: 'send', to: 'bob', data: { src: 'carol', i } });
        })(),
        (async () => {
          for (const i of range(K)) await backend.pub(topics.direct('bob'), { src: 'backend', i });
        })(),
      ]);
      const dm = (c) => c.all.filter((f) => f.op === 'msg' && f.to === 'bob');
      for (const c of tabs) await c.until(() => dm(c).length >= 3 * K, 10000, `${c.name}: ${3 * K} direct messages`);
      await delay(300);
      for (const c of tabs) {
        assert.equal(dm(c).length, 3 * K, `${c.name}: exactly ${3 * K}`);
        for (const src of ['alice', 'carol', 'backend']) assert.deepEqual(dm(c).filter((f) => f.data.src === src).map((f) => f.data.i), range(K), `${c.name}: from ${src} once each, in order`);
        assert.deepEqual(dm(c).filter((f) => f.data.src !== 'backend').map((f) => f.from).sort(), [...Array(K).fill('alice'), ...Array(K).fill('carol')]);
      }
      for (const c of [alice, carol]) assert.equal(c.all.filter((f) => f.op === 'msg').length, 0, `${c.name} got nothing`);
    });

    await part(t, 'devices', async () => {
      // d1 speaks MQTT to broker B; browsers on e1 and e3 watch it; an operator on e1 commands it
      const d1 = await env.mqtt(brokerB, { name: 'd1', clientId: 'device-d1' });
      await d1.sub(topics.cmd('d1'));
      const w1 = await env.connect(e1, { user: 'watch-1', extra: CLAIMS });
      const w3 = await env.connect(e3, { user: 'watch-3', extra: CLAIMS });
      const operator = await env.connect(e1, { user: 'operator', extra: CLAIMS });
      for (const w of [w1, w3]) await w.ok({ op: 'sub', device: 'd1' });
      await env.syncTopic(topics.telemetry('d1'), [w1, w3], { broker: brokerB });
      for (const i of range(5)) await d1.pub(topics.telemetry('d1'), { temp: 20 + i, i });
      const tel = (c, d) => c.all.filter((f) => f.op === 'telemetry' && f.device === d);
      for (const w of [w1, w3]) await w.until(() => tel(w, 'd1').length >= 5, 5000, `${w.name}: d1 telemetry`);
      const ok = await operator.ok({ op: 'cmd', device: 'd1', data: { action: 'reboot' } });
      const cmd = await d1.next((m) => m.topic === topics.cmd('d1'), 5000, 'the command at d1 (broker B)');
      assert.deepEqual([cmd.json.id, cmd.json.from, cmd.json.data], [ok.id, 'operator', { action: 'reboot' }]);
      // d2 is a WebSocket device on e3: its telemetry to a browser on e1, a command from e1 to it
      const d2 = await env.connect(e3, { claims: { sub: 'd2', kind: 'device', exp: nowSec() + 3600 }, name: 'd2' });
      await w1.ok({ op: 'sub', device: 'd2' });
      await env.syncTopic(topics.telemetry('d2'), [w1], { broker: brokerB });
      const tok = await d2.ok({ op: 'telemetry', data: { rpm: 1200 } });
      const t2 = await w1.next((f) => f.op === 'telemetry' && f.device === 'd2' && f.data?.rpm === 1200, 5000, 'd2 telemetry on e1');
      assert.equal(t2.id, tok.id);
      await env.syncTopic(topics.cmd('d2'), [d2], { broker: brokerA });
      const c2 = await operator.ok({ op: 'cmd', device: 'd2', data: { led: 'on' } });
      const got = await d2.next((f) => f.op === 'cmd', 5000, 'the command at d2 (e3)');
      assert.deepEqual([got.id, got.from, got.data], [c2.id, 'operator', { led: 'on' }]);
      await delay(300);
      for (const w of [w1, w3]) assert.deepEqual(tel(w, 'd1').map((f) => f.data.i), range(5), `${w.name}: d1's telemetry once each, in order`);
      assert.equal(tel(w1, 'd2').length, 1, 'd2 telemetry once');
      assert.equal(d1.all.filter((m) => m.topic === topics.cmd('d1')).length, 1, 'd1 got its command once');
      assert.equal(d2.all.filter((f) => f.op === 'cmd').length, 1, 'd2 got its command once');
    });

    await part(t, 'inbox', async () => {
      const tabs = [await env.connect(e1, { user: 'nina', name: 'nina-1' }), await env.connect(e2, { user: 'nina', name: 'nina-2' }), await env.connect(e3, { user: 'nina', name: 'nina-3' })];
      for (const c of tabs) assert.equal(c.welcome.unread, 0);
      const stored0 = await Promise.all(edges.map((e) => metric(e, 'mqedge_inbox_stored_total')));
      const dup0 = await Promise.all(edges.map((e) => metric(e, 'mqedge_inbox_duplicates_total')));
      // HTTP ingress on e1 (host A), MQTT on broker B
      const r = await api(env, e1, [{ ...remind({ title: 'h1' }), to: ['nina'] }, { ...mailbox({ title: 'h2' }), to: ['nina'] }]);
      assert.equal(r.status, 201, r.body);
      const backend = await env.mqtt(brokerB, { name: 'backend-notify' });
      await backend.pub(topics.notify('nina'), remind({ id: 'mq-1', title: 'm1' }));
      await backend.pub(topics.notify('nina'), mailbox({ id: 'mq-2', title: 'm2' }));
      const ids = [...r.json.ids, 'mq-1', 'mq-2'];
      for (const c of tabs) await untilNotified(c, ids, 10000, `${c.name}: 4 notifications`);
      for (const e of edges) {
        await waitFor(async () => (await metric(e, 'mqedge_inbox_stored_total')) - stored0[edges.indexOf(e)] >= 4, { timeoutMs: 5000, what: `${e.name} stored 4` });
      }
      await delay(300);
      for (const [i, e] of edges.entries()) {
        assert.equal((await metric(e, 'mqedge_inbox_stored_total')) - stored0[i], 4, `${e.name}: each stored once`);
        // e1 drops its own echo of the two it took over HTTP; nothing else arrives twice
        assert.equal((await metric(e, 'mqedge_inbox_duplicates_total')) - dup0[i], e === e1 ? 2 : 0, `${e.name}: duplicates`);
      }
      for (const c of tabs) {
        const got = notifies(c).map((f) => f.id);
        assert.equal(got.length, 4, `${c.name}: pushed once each: ${got}`);
        assert.deepEqual(got.filter((id) => r.json.ids.includes(id)), r.json.ids, `${c.name}: HTTP ones in order`);
        assert.deepEqual(got.filter((id) => id.startsWith('mq-')), ['mq-1', 'mq-2'], `${c.name}: MQTT ones in order`);
      }
      // read on e3: the read event reaches the tabs on e1 and e2 (and e3's own), the counts agree
      const readIds = [r.json.ids[0], 'mq-1'];
      const ok = await tabs[2].ok({ op: 'read', ids: readIds });
      assert.equal(ok.unread, 2);
      for (const c of tabs) {
        const ev = await c.next((f) => f.op === 'read', 5000, `${c.name}: the read event`);
        assert.deepEqual(ev.ids, readIds);
      }
      for (const c of tabs) {
        const inbox = await waitFor(async () => {
          const x = await inboxAll(c);
          return x.unread === 2 ? x : null;
        }, { timeoutMs: 5000, what: `${c.name}: unread 2` });
        assert.deepEqual(Object.fromEntries(inbox.items.map((x) => [x.id, x.read])), { [r.json.ids[0]]: true, [r.json.ids[1]]: false, 'mq-1': true, 'mq-2': false }, c.name);
      }
      const late = await env.connect(e2, { user: 'nina', name: 'nina-2b' });
      assert.equal(late.welcome.unread, 2, 'a new tab on e2 counts 2 unread');
      await delay(300);
      for (const c of tabs) assert.equal(c.all.filter((f) => f.op === 'read').length, 1, `${c.name}: one read event`);
    });

    await part(t, 'rpc', async () => {
      const wa = await RpcWorker.start(MQTT_PORT, { host: net.HOST_A, name: 'wa' });
      env.onCleanup(() => wa.end());
      const c1 = await env.connect(e1, { user: 'rpc-1', extra: CLAIMS });
      const c3 = await env.connect(e3, { user: 'rpc-3', extra: CLAIMS });
      // a worker on broker A answers callers on both hosts, once each
      for (const c of [c1, c3]) {
        const r = await c.ok({ op: 'rpc', method: 'echo', data: { from: c.user } });
        assert.deepEqual([r.data.worker, r.data.echo, r.data.caller.user], ['wa', { from: c.user }, c.user]);
      }
      assert.equal(wa.requests.length, 2);
      // a worker of the same group on broker B: a group is per broker, so e3's request reaches one worker
      // on each; the client still gets one answer, e3 counts the other late
      const wb = await RpcWorker.start(MQTT_PORT, { host: net.HOST_B, name: 'wb' });
      env.onCleanup(() => wb.end());
      const late0 = await metric(e3, 'mqedge_rpc_late_total');
      const ref = 'rpc-twice';
      const r3 = await c3.ok({ op: 'rpc', method: 'echo', data: { twice: true }, ref });
      assert.ok(['wa', 'wb'].includes(r3.data.worker));
      await waitFor(() => wa.requests.length === 3 && wb.requests.length === 1, { timeoutMs: 5000, what: 'the request at both workers' });
      await waitFor(async () => (await metric(e3, 'mqedge_rpc_late_total')) === late0 + 1, { timeoutMs: 5000, what: 'e3 counted one late answer' });
      await delay(300);
      assert.equal(c3.all.filter((f) => f.ref === ref).length, 1, 'one reply');
      // e1's requests stay on broker A (rpc/+ is bridged out of B only)
      await c1.ok({ op: 'rpc', method: 'echo', data: { only: 'A' } });
      await delay(300);
      assert.equal(wb.requests.length, 1, 'wb never saw e1\'s request');
      // no worker anywhere: broker A says "no subscribers" to e1; broker B, where the bridge subscribes to
      // rpc/+, cannot, so e3's caller waits for its timeout
      await wa.end();
      await wb.end();
      // (the brokers must have seen them go: a request that reached a worker's dying session would time out)
      for (const [w, b] of [[wa, brokerA], [wb, brokerB]]) {
        const id = w.client.options.clientId;
        await waitFor(() => b.proc.lines.some((l) => l.includes(`Client ${id} `) && /disconnected|closed its connection/.test(l)), { timeoutMs: 5000, what: `${b.name}: ${id} gone` });
      }
      await c1.err({ op: 'rpc', method: 'echo', data: null }, 'no_backend');
      const t0 = Date.now();
      await c3.err({ op: 'rpc', method: 'echo', data: null }, 'timeout', { timeoutMs: 5000 });
      assert.ok(Date.now() - t0 >= 1400, 'e3 waited for the timeout');
    });

    await part(t, 'history', async () => {
      const ROOM = 'hist-chat';
      const w1 = await env.connect(e1, { user: 'hw-1', extra: CLAIMS });
      const w3 = await env.connect(e3, { user: 'hw-3', extra: CLAIMS });
      const ok1 = await w1.ok({ op: 'sub', room: ROOM });
      const ok3 = await w3.ok({ op: 'sub', room: ROOM });
      assert.equal(ok3.epoch, ok1.epoch, 'e3 took e1\'s epoch over across the bridge');
      // publishers on host A only: one broker orders the room (docs/BRIDGING.md, "history")
      const p1 = await env.connect(e1, { user: 'hp-1', extra: CLAIMS });
      const p2 = await env.connect(e2, { user: 'hp-2', extra: CLAIMS });
      const reader = await env.connect(e1, { user: 'hr', extra: CLAIMS });
      await reader.ok({ op: 'sub', room: ROOM });
      let n = 0;
      const publish = async (k) => {
        for (const _ of range(k)) {
          n++;
          await (n % 2 ? p1 : p2).ok({ op: 'pub', room: ROOM, data: { n } });
        }
      };
      await publish(6);
      for (const c of [w1, w3, reader]) await c.until(() => c.roomMsgs(ROOM).length === 6, 5000, `${c.name}: 6`);
      const key = (f) => `${f.data.n}@${f.epoch}:${f.offset}`;
      assert.deepEqual(w3.roomMsgs(ROOM).map(key), w1.roomMsgs(ROOM).map(key), 'e1 and e3 agree on the positions');
      const last = reader.roomMsgs(ROOM).at(-1);
      reader.terminate();
      await publish(10);
      for (const c of [w1, w3]) await c.until(() => c.roomMsgs(ROOM).length === 16, 5000, `${c.name}: 16`);
      assert.deepEqual(w3.roomMsgs(ROOM).map(key), w1.roomMsgs(ROOM).map(key), 'still agreeing');
      const back = await env.connect(e3, { user: 'hr', extra: CLAIMS, name: 'hr-back' });
      const ref = 'resume-on-e3';
      const ok = await back.ok({ op: 'sub', room: ROOM, since: { epoch: last.epoch, offset: last.offset }, ref });
      assert.deepEqual([ok.recovered, ok.epoch, ok.offset], [true, ok1.epoch, 16], JSON.stringify(ok));
      const upTo = back.all.findIndex((f) => f.ref === ref);
      const replay = back.all.slice(0, upTo).filter((f) => f.op === 'msg' && f.room === ROOM);
      assert.deepEqual(replay.map(key), w1.roomMsgs(ROOM).slice(6).map(key), 'exactly the 10 missed, in order, before the ok');
      await publish(1);
      const live = await back.next((f) => f.op === 'msg' && f.room === ROOM && f.data.n === 17, 5000, 'the live one');
      assert.equal(live.offset, 17);
      await delay(300);
      assert.equal(back.roomMsgs(ROOM).length, 11, 'nothing twice');
    });

    await part(t, 'bridge outage (what Mosquitto 2.0 loses)', async () => {
      // The A-B link goes down until broker A drops the silent bridge (1.5 x its keepalive). Meanwhile a room
      // message and a notification enter on each host. After the bridge is back, what entered on host B
      // reaches host A (broker B kept it for the bridge's local session), but what entered on host A never
      // reaches host B: Mosquitto 2.0's MQTT 5 bridge sends no Session Expiry Interval, so broker A ended
      // the bridge's session when it dropped it, and nothing was kept for it (eclipse/mosquitto#2793;
      // docs/BRIDGING.md). Retained messages changed on both sides end up swapped, and the two hosts number
      // a history room's messages differently from then on. A sentinel sent after the bridge is back proves
      // each loss (QoS 1, one session: order is kept).
      const ROOM = 'outage';
      const HROOM = 'hist-outage';
      const a = await env.connect(e1, { user: 'oa', extra: CLAIMS });
      const b = await env.connect(e3, { user: 'ob', extra: CLAIMS });
      const olga = [await env.connect(e1, { user: 'olga', name: 'olga-1' }), await env.connect(e3, { user: 'olga', name: 'olga-3' })];
      for (const c of [a, b]) await c.ok({ op: 'sub', room: ROOM });
      await env.syncTopic(topics.room(ROOM), [a, b], { broker: brokerA });
      const h1 = await a.ok({ op: 'sub', room: HROOM });
      const h3 = await b.ok({ op: 'sub', room: HROOM });
      assert.equal(h3.epoch, h1.epoch);
      await a.ok({ op: 'pub', room: HROOM, data: { h: 'before' } });
      for (const c of [a, b]) await c.until(() => c.roomMsgs(HROOM).length === 1, 5000, `${c.name}: the first history message`);
      assert.deepEqual(a.roomMsgs(HROOM).map((f) => f.offset), [1]);
      assert.deepEqual(b.roomMsgs(HROOM).map((f) => f.offset), [1]);
      const settingsA = await env.mqtt(brokerA, { name: 'settings-A' });
      const settingsB = await env.mqtt(brokerB, { name: 'settings-B' });
      await settingsA.pub(topics.settings('zed'), { mute: [], ts: 1 }, { retain: true });
      await waitFor(async () => (await retained(env, brokerB, topics.settings('zed'), 300))?.json?.ts === 1, { timeoutMs: 5000, what: 'zed\'s settings on broker B' });
      const drops = () => brokerA.log().split('\n').filter((l) => l.includes(`Client ${BRIDGE_CLIENT_ID} has exceeded timeout`)).length;
      const connects = () => brokerA.log().split('\n').filter((l) => l.includes(`as ${BRIDGE_CLIENT_ID} `)).length;
      let lostId;
      const t0 = Date.now();
      execFileSync('ip', ['-n', net.NS_A, 'link', 'set', net.LINK_AB, 'down']);
      try {
        await waitFor(() => drops() === 1, { timeoutMs: 25000, intervalMs: 100, what: 'broker A dropping the silent bridge' });
        t.diagnostic(`bridge outage: broker A dropped the bridge ${Date.now() - t0} ms after the link went down`);
        await a.ok({ op: 'pub', room: ROOM, data: { lost: 'entered on A' } });
        await b.ok({ op: 'pub', room: ROOM, data: { kept: 'entered on B' } });
        await a.ok({ op: 'pub', room: HROOM, data: { h: 'on A' } });
        await b.ok({ op: 'pub', room: HROOM, data: { h: 'on B' } });
        const h = await api(env, e1, { ...mailbox({ title: 'during the outage, on A' }), to: ['olga'] });
        assert.equal(h.status, 201, h.body);
        await settingsA.pub(topics.settings('zed'), { mute: ['remind'], ts: 2 }, { retain: true });
        await settingsB.pub(topics.settings('zed'), { mute: ['announcement'], ts: 3 }, { retain: true });
        await settingsB.pub(topics.notify('olga'), mailbox({ id: 'outage-b', title: 'during the outage, on B' }));
        lostId = h.json.ids[0];
      } finally {
        execFileSync('ip', ['-n', net.NS_A, 'link', 'set', net.LINK_AB, 'up']);
      }
      await waitFor(() => connects() === 2 && brokerA.proc.lines.filter((l) => l.includes(`: ${BRIDGE_CLIENT_ID} 1 ${PREFIX}/edge/+/rpc`)).length === 2, { timeoutMs: 25000, intervalMs: 100, what: 'the bridge back on broker A' });
      t.diagnostic(`bridge outage: the bridge was back ${Date.now() - t0} ms after the link went down`);
      await a.ok({ op: 'pub', room: ROOM, data: { sentinel: 'A' } });
      await b.ok({ op: 'pub', room: ROOM, data: { sentinel: 'B' } });
      await a.ok({ op: 'pub', room: HROOM, data: { h: 'sentinel' } });
      const s = await api(env, e1, { ...mailbox({ title: 'sentinel' }), to: ['olga'] });
      for (const c of [a, b]) await c.until(() => ['A', 'B'].every((x) => c.roomMsgs(ROOM).some((f) => f.data.sentinel === x)), 10000, `${c.name}: both sentinels`);
      for (const c of [a, b]) await c.until(() => c.roomMsgs(HROOM).some((f) => f.data.h === 'sentinel'), 10000, `${c.name}: the history sentinel`);
      for (const c of olga) await untilNotified(c, [s.json.ids[0]], 10000, `${c.name}: the sentinel notification`);
      await delay(300);
      const data = (c) => c.roomMsgs(ROOM).map((f) => JSON.stringify(f.data));
      // host B's message crossed after the outage, before B's sentinel; host A's never reached host B
      assert.deepEqual(data(a).filter((x) => !x.includes('sentinel')), ['{"lost":"entered on A"}', '{"kept":"entered on B"}'], `${a.name}`);
      assert.deepEqual(data(b).filter((x) => !x.includes('sentinel')), ['{"kept":"entered on B"}'], `${b.name}: host A's message was lost by the bridge`);
      assert.deepEqual(notifies(olga[0]).map((f) => f.id).sort(), [lostId, 'outage-b', s.json.ids[0]].sort(), 'olga on e1: all three');
      assert.deepEqual(notifies(olga[1]).map((f) => f.id).sort(), ['outage-b', s.json.ids[0]].sort(), 'olga on e3: the one posted on host A during the outage is missing');
      // the history room: e3 never counted host A's message, so from then on the hosts disagree on the
      // positions within one epoch (a resume across the bridge would replay the wrong messages)
      const hpos = (c) => c.roomMsgs(HROOM).map((f) => `${f.data.h}@${f.epoch === h1.epoch ? 'E' : f.epoch}:${f.offset}`);
      assert.deepEqual(hpos(a), ['before@E:1', 'on A@E:2', 'on B@E:3', 'sentinel@E:4'], `${a.name}: positions on e1`);
      assert.deepEqual(hpos(b), ['before@E:1', 'on B@E:2', 'sentinel@E:3'], `${b.name}: positions on e3`);
      // the retained settings changed on both sides: at the reconnect each broker sends the other what it
      // holds (broker A to the bridge's subscription, broker B for its out topics), so the two copies end
      // up different, an older one where a newer was (which one depends on timing)
      const kept = { A: (await retained(env, brokerA, topics.settings('zed')))?.json?.ts, B: (await retained(env, brokerB, topics.settings('zed')))?.json?.ts };
      t.diagnostic(`bridge outage: retained settings ts after the reconnect: broker A ${kept.A}, broker B ${kept.B} (newest 3)`);
      assert.notEqual(kept.A, kept.B, `the brokers' retained copies diverged: ${JSON.stringify(kept)}`);
      // the edges, which keep the newest ts, still agree (settings ops on both hosts)
      const z1 = await env.connect(e1, { user: 'zed', name: 'zed-1' });
      const z3 = await env.connect(e3, { user: 'zed', name: 'zed-3' });
      for (const z of [z1, z3]) assert.deepEqual((await z.ok({ op: 'settings' })).mute, ['announcement'], `${z.name}: the newest settings`);
    });

    await part(t, 'presence and status; e3 killed', async () => {
      const ROOM = 'pres-lobby';
      const isEvent = (f) => f.op === 'join' || f.op === 'leave';
      const u1 = await env.connect(e1, { user: 'u1', extra: CLAIMS });
      u1.ignore(isEvent);
      const events = () => u1.ignored.filter((f) => isEvent(f) && f.room === ROOM).map((f) => `${f.op}:${f.user}`);
      await u1.ok({ op: 'sub', room: ROOM, presence: true });
      const u2 = await env.connect(e2, { user: 'u2', extra: CLAIMS });
      const u3 = await env.connect(e3, { user: 'u3', extra: CLAIMS });
      await u2.ok({ op: 'sub', room: ROOM });
      await u3.ok({ op: 'sub', room: ROOM });
      await u1.until(() => ['u1', 'u2', 'u3'].every((u) => events().includes(`join:${u}`)), 5000, 'joins of u1, u2, u3');
      const members = (r) => Object.fromEntries(r.members.map((m) => [m.user, m.conns]));
      for (const c of [u1, u3]) {
        const r = await waitFor(async () => {
          const x = await c.ok({ op: 'presence', room: ROOM });
          return x.users === 3 ? x : null;
        }, { timeoutMs: 5000, what: `${c.name}: 3 members` });
        assert.deepEqual([members(r), r.conns], [{ u1: 1, u2: 1, u3: 1 }, 3], c.name);
      }
      // the edges' retained status crossed the bridge: e1 lists all three, both brokers hold e3 online
      await waitFor(async () => (await info(e1)).edges.map((x) => x.edge).join() === 'e1,e2,e3', { timeoutMs: 5000, what: 'info on e1: e1,e2,e3' });
      for (const b of [brokerA, brokerB]) assert.equal((await retained(env, b, topics.status('e3')))?.json?.status, 'online', `${b.name}: e3 online`);

      const t0 = Date.now();
      await e3.kill('SIGKILL');
      await u1.until(() => events().includes('leave:u3'), 5000, 'u3 leaves on e1 after e3 was killed');
      const took = Date.now() - t0;
      t.diagnostic(`e3 SIGKILLed: its member left on e1 after ${took} ms`);
      assert.ok(took < 5000);
      const r = await u1.ok({ op: 'presence', room: ROOM });
      assert.deepEqual([members(r), r.conns], [{ u1: 1, u2: 1 }, 2]);
      await waitFor(async () => (await info(e1)).edges.map((x) => x.edge).join() === 'e1,e2', { timeoutMs: 5000, what: 'info on e1: e1,e2' });
      // broker B published e3's will (retained offline) and the bridge carried it to broker A
      for (const b of [brokerA, brokerB]) assert.equal((await retained(env, b, topics.status('e3')))?.json?.status, 'offline', `${b.name}: e3 offline`);
      await delay(300);
      const ev = events();
      for (const u of ['u1', 'u2', 'u3']) assert.equal(ev.filter((x) => x === `join:${u}`).length, 1, `one join of ${u}: ${ev}`);
      assert.deepEqual(ev.filter((x) => x.startsWith('leave:')), ['leave:u3'], 'one leave, u3\'s');
    });

    await part(t, 'broker B killed: e3 moves to broker A, its clients keep going', async () => {
      // e3 runs with --broker B,A and --broker-failover-after 2 (docs/PROTOCOL.md section 12). Broker B
      // dies with SIGKILL; e3 keeps trying it for 2 s, then moves both its sessions to broker A across
      // the A-B link. Its clients stay connected and hear one "resync"; a notification e3 took over
      // HTTP while it had no broker is answered 201 only once broker A has it, and reaches v3's tabs on
      // e3 and on e1 once each; room traffic flows both ways; broker A holds e3 online.
      const ROOM = 'pres-lobby';
      await e3.restart();
      const watcher = await env.connect(e1, { user: 'kw', extra: CLAIMS });
      const isEvent = (f) => f.op === 'join' || f.op === 'leave';
      watcher.ignore(isEvent);
      const events = () => watcher.ignored.filter((f) => isEvent(f) && f.room === ROOM).map((f) => `${f.op}:${f.user}`);
      await watcher.ok({ op: 'sub', room: ROOM, presence: true });
      const v = await env.connect(e3, { user: 'v3', extra: CLAIMS });
      const vOnE1 = await env.connect(e1, { user: 'v3', name: 'v3@e1', extra: CLAIMS });
      await v.ok({ op: 'sub', room: ROOM });
      await watcher.until(() => events().includes('join:v3'), 5000, 'v3 joins on e1');
      await waitFor(async () => (await info(e1)).edges.map((x) => x.edge).join() === 'e1,e2,e3', { timeoutMs: 5000, what: 'info on e1: e3 back' });

      const killedAt = Date.now();
      await brokerB.kill('SIGKILL');
      await e3.waitNotReady(10000);
      const posting = api(env, e3, { ...mailbox({ title: 'through the failover' }), to: ['v3'] }); // e3 has no broker now
      await e3.waitReady(15000);
      const movedMs = Date.now() - killedAt;
      t.diagnostic(`broker B SIGKILLed: e3 ready on broker A after ${movedMs} ms`);
      assert.ok(movedMs >= 1900 && movedMs < 2000 + 8000, `moved after the failover time, within a bound (${movedMs} ms)`);
      const r = await posting;
      assert.equal(r.status, 201, `the notification is acknowledged once on broker A: ${r.body}`);
      const [noteId] = r.json.ids;

      // the clients on e3 stayed and were told once that a gap may exist
      assert.equal(v.closed, null, 'v3 on e3 stays connected');
      await v.until(() => v.all.some((f) => f.op === 'resync'), 10000, 'resync on e3');
      assert.deepEqual(v.all.filter((f) => f.op === 'resync').map((f) => f.reason), ['failover'], 'one resync, reason failover');
      const m3 = (await httpGet(e3.port, '/metrics', { host: e3.host })).body;
      assert.match(m3, /^mqedge_broker_failovers_total 1$/m);
      assert.match(m3, new RegExp(`^mqedge_broker_info\\{broker="${esc(brokerA.address)}",index="1"\\} 1$`, 'm'));

      // the acknowledged notification: once on each of v3's tabs (e3 stored it, e1 got it through A)
      for (const c of [v, vOnE1]) await untilNotified(c, [noteId], 10000, `${c.name}: the notification taken during the move`);
      // room traffic both ways across the move, once each, in order
      const fromE1 = [];
      for (let i = 0; i < 5; i++) fromE1.push((await watcher.ok({ op: 'pub', room: ROOM, data: { after: i } })).id);
      const fromE3 = [];
      for (let i = 0; i < 5; i++) fromE3.push((await v.ok({ op: 'pub', room: ROOM, data: { back: i } })).id);
      await v.until(() => fromE1.every((id) => v.all.some((f) => f.id === id)), 10000, 'e1\'s messages on e3');
      await watcher.until(() => fromE3.every((id) => watcher.all.some((f) => f.id === id)), 10000, 'e3\'s messages on e1');
      await delay(300);
      for (const c of [v, vOnE1]) assert.equal(notifies(c).filter((f) => f.id === noteId).length, 1, `${c.name}: the notification once`);
      assert.deepEqual(v.all.filter((f) => fromE1.includes(f.id)).map((f) => f.id), fromE1, 'on e3: each once, in order');
      assert.deepEqual(watcher.all.filter((f) => fromE3.includes(f.id)).map((f) => f.id), fromE3, 'on e1: each once, in order');

      // broker A holds e3 online (its new session's status), and v3 is still a member on e1
      await waitFor(async () => (await retained(env, brokerA, topics.status('e3')))?.json?.status === 'online', { timeoutMs: 5000, what: 'e3 online on broker A' });
      assert.ok(!events().includes('leave:v3'), 'no leave for v3');
      assert.equal((await watcher.ok({ op: 'presence', room: ROOM })).members.some((m) => m.user === 'v3'), true, 'v3 counted on e1');
    });

    await part(t, 'what stays on one broker', async () => {
      // each edge's sync barrier stays on the broker it is on (edge/+/sync is not bridged): e3's on
      // broker B, and on broker A only after its move there
      const syncs = (k) => [...new Set(spies[k].all.filter((m) => /\/edge\/[^/]+\/sync$/.test(m.topic)).map((m) => m.topic))].sort();
      assert.deepEqual(syncs('A'), [`${PREFIX}/edge/e1/sync`, `${PREFIX}/edge/e2/sync`, `${PREFIX}/edge/e3/sync`]);
      assert.deepEqual(syncs('B'), [`${PREFIX}/edge/e3/sync`]);
      // and no message of rooms, users or devices reached either broker twice (the bridge is loop-free)
      for (const k of ['A', 'B']) {
        const seen = new Map();
        for (const m of spies[k].all) {
          if (!/\/(room\/[^/]+|user\/[^/]+\/(direct|notify)|device\/[^/]+\/(telemetry|cmd))$/.test(m.topic)) continue;
          const key = `${m.topic} ${m.payload.toString('base64')}`;
          seen.set(key, (seen.get(key) ?? 0) + 1);
        }
        const twice = [...seen].filter(([, n]) => n > 1);
        assert.ok(seen.size >= 3 * 40 + 2 * 20 + 3 * 10, `spy ${k} saw the fan-out and direct traffic (${seen.size})`);
        assert.deepEqual(twice, [], `spy ${k}: nothing twice`);
      }
    });
  });
}
