// The bridged-brokers topology for the tests (tests/topology/README.md, docs/BRIDGING.md): two "hosts" in
// network namespaces made by tests/topology/netns.sh, host A with Mosquitto broker A and edges e1 and e2,
// host B with broker B and edge e3; broker B holds the one bridge, an MQTT 5 connection to broker A over
// the link between the namespaces. The test's clients stay in the root namespace and reach every server on
// its namespace address. Everything is owned by the test's Env: the servers stop at teardown like any
// other, then the namespaces are deleted (Env.onFinally); on SIGINT/SIGTERM/SIGHUP the servers are killed
// and the namespaces deleted before the process exits; a run that died anyway is cleaned by the next `up`.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PREFIX, waitFor } from './harness.mjs';
import { REPO_ROOT } from './schemas.mjs';
import { waitInboxSubscribed } from './inbox.mjs';

export const NETNS_SH = join(REPO_ROOT, 'tests', 'topology', 'netns.sh');
export const BRIDGE_CLIENT_ID = 'mqedge-bridge-b';
export const BRIDGE_STATE_TOPIC = 'mqedge-bridge/b-to-a/state';
export const MQTT_PORT = 1883;
export const EDGE_PORTS = { e1: 8081, e2: 8082, e3: 8083 };

// The topic filters the bridge carries, relative to the prefix, with their direction as seen from broker B
// (docs/BRIDGING.md explains each one, and what is left out: edge/+/sync, $SYS, $share).
export const BRIDGE_TOPICS = [
  ['room/+', 'both'],
  ['user/+/direct', 'both'],
  ['user/+/notify', 'both'],
  ['user/+/read', 'both'],
  ['user/+/settings', 'both'],
  ['user/+/disconnect', 'both'],
  ['user/+/revoke', 'both'],
  ['notify/all', 'both'],
  ['device/+/telemetry', 'both'],
  ['device/+/cmd', 'both'],
  ['edge/+/status', 'both'],
  ['presence/+/+', 'both'],
  ['history/+/req', 'both'],
  ['edge/+/history', 'both'],
  ['edge/+/rpc', 'both'],
  ['rpc/+', 'out'], // rpc workers attach to broker A only (docs/BRIDGING.md, "rpc")
];

// mosquitto.conf lines of broker B's bridge to `remote` (HOST:PORT of broker A).
export function bridgeConfig(remote, { prefix = PREFIX, topics = BRIDGE_TOPICS } = {}) {
  return [
    'connection mqedge-b-to-a',
    `address ${remote}`,
    'bridge_protocol_version mqttv50',
    `remote_clientid ${BRIDGE_CLIENT_ID}`,
    `local_clientid ${BRIDGE_CLIENT_ID}-local`,
    'cleansession false',
    'start_type automatic',
    'keepalive_interval 5', // the least Mosquitto takes; broker A drops a silent bridge after 7.5 s
    'restart_timeout 1 3',
    'notifications true',
    `notification_topic ${BRIDGE_STATE_TOPIC}`,
    ...topics.map(([t, dir]) => `topic ${prefix}/${t} ${dir} 1`),
  ];
}

// Why this machine cannot build the topology, or null.
export function topologyUnavailable() {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return `the bridged-brokers topology needs root (network namespaces, veth links); this runs as uid ${process.getuid()}: run the test as root`;
  }
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'the bridged-brokers topology needs `ip` (Debian package iproute2; MQEDGE_WITH_TEST_DEPS=1 scripts/deps.sh installs it)';
  }
  return null;
}

function netnsUp() {
  const out = execFileSync(NETNS_SH, ['up', '--owner', String(process.pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const net = Object.fromEntries(out.trim().split('\n').map((l) => l.split('=')));
  for (const k of ['RUN', 'NS_A', 'NS_B', 'HOST_A', 'HOST_B', 'PEER_A', 'PEER_B']) if (!net[k]) throw new Error(`netns.sh up printed no ${k}:\n${out}`);
  return net;
}

function netnsDown(run) {
  execFileSync(NETNS_SH, ['down', run], { stdio: ['ignore', 'inherit', 'inherit'] });
}

// Bytes received by the A-B link's end in namespace ns (traffic that really crossed between the hosts).
export function linkRxBytes(ns, dev = 'peer') {
  const j = JSON.parse(execFileSync('ip', ['-n', ns, '-s', '-j', 'link', 'show', dev], { encoding: 'utf8' }));
  return j[0].stats64.rx.bytes;
}

// Builds the topology inside env. opts: { extra: flags for every edge, perEdge: { e1: [..], e2, e3 },
// e3Brokers: ['B'] (the brokers edge 3 gets in --broker, in order: ['B', 'A'] for failover to broker A),
// beforeEdges: async ({ brokerA, brokerB, net }) => {}, run once the bridge is up, before any edge starts }.
// Resolves { net, brokerA, brokerB, edges: { e1, e2, e3 }, startEdge(id, opts), bridgeLine }.
export async function startTopology(env, { extra = [], perEdge = {}, e3Brokers = ['B'], beforeEdges } = {}) {
  const net = netnsUp();
  let down = false;
  const teardownNet = () => {
    if (down) return;
    down = true;
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(s, onSignal);
    netnsDown(net.RUN);
  };
  function onSignal(sig) {
    for (const p of [...env.edges, ...env.brokers, ...env.procs.map((proc) => ({ proc }))]) {
      try {
        p.proc.child?.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    try {
      teardownNet();
    } finally {
      process.stderr.write(`topology: ${sig}: servers killed, namespaces of run ${net.RUN} deleted\n`);
      process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[sig] ?? 0));
    }
  }
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(s, onSignal);
  env.onFinally(teardownNet);

  const brokerA = await env.startBroker('brokerA', { host: net.HOST_A, port: MQTT_PORT, netns: net.NS_A });
  const brokerB = await env.startBroker('brokerB', {
    host: net.HOST_B,
    port: MQTT_PORT,
    netns: net.NS_B,
    extra: bridgeConfig(`${net.HOST_A}:${MQTT_PORT}`),
  });
  // the bridge is up once broker A has its subscriptions (the last `both` filter of the list)
  const lastBoth = BRIDGE_TOPICS.filter(([, d]) => d === 'both').at(-1)[0];
  const bridgeLine = await waitFor(
    () => brokerA.proc.lines.some((l) => l.includes(`: ${BRIDGE_CLIENT_ID} 1 ${PREFIX}/${lastBoth}`)) && brokerA.proc.lines.find((l) => l.includes(`as ${BRIDGE_CLIENT_ID} `)),
    { timeoutMs: 15000, intervalMs: 25, what: 'the bridge from broker B subscribed on broker A (broker A log)' },
  );
  const brokers = { A: brokerA, B: brokerB };
  const groupOf = { e1: 'A', e2: 'A', e3: 'B' };
  const edges = {};
  // The edge runs on its group's host; it connects to the first broker of `list` (keys of `brokers`).
  async function startEdge(id, { brokers: list = id === 'e3' ? e3Brokers : [groupOf[id]], more = [] } = {}) {
    const home = brokers[groupOf[id]];
    const first = brokers[list[0]];
    const since = first.proc.lines.length;
    const e = await env.startEdge({
      id,
      broker: first,
      brokers: list.map((k) => brokers[k]),
      host: home.host,
      port: EDGE_PORTS[id],
      netns: net[`NS_${groupOf[id]}`],
      extra: [...extra, ...(perEdge[id] ?? []), ...more],
    });
    await waitInboxSubscribed(first, e, { since });
    edges[id] = e;
    return e;
  }
  if (beforeEdges) await beforeEdges({ brokerA, brokerB, net });
  for (const id of ['e1', 'e2', 'e3']) await startEdge(id);
  return { net, brokerA, brokerB, brokers, edges, startEdge, bridgeLine };
}
