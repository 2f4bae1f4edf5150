#!/usr/bin/env node
// rpc-worker.mjs - an example backend for the `rpc` op (docs/PROTOCOL.md section 11), with npm `mqtt`.
// It joins a shared-subscription group on {prefix}/rpc/+ (the broker spreads the requests among the
// group's workers) and answers each request on its Response Topic with its Correlation Data.
//
//   node examples/backend/rpc-worker.mjs [--broker mqtt://127.0.0.1:1883] [--prefix mqedge/v1]
//                                        [--group workers] [--name w1]
//
// Environment (a flag wins): MQTT_URL (or MQTT_HOST + MQTT_PORT), PREFIX, RPC_GROUP, RPC_NAME,
//   MQTT_USERNAME, MQTT_PASSWORD (the password only through the environment, never a flag).
// --broker also takes HOST:PORT (the edge's --broker form) and mqtts:// URLs.
//
// Methods:
//   whoami  → {user, kind, session, edge, worker}: the caller as the edge vouches for it (the
//             request's User Properties), never from the payload
//   echo    → the request's data
//   add     → {sum}: data {a, b}, both numbers; else the error bad_args
//   slow    → {slept_ms} after data.ms milliseconds (default 10000): longer than the edge's timeout
//             for the method, it shows the client's `timeout`
//   fail    → always the error failed_on_purpose
// anything else → the error unknown_method.
//
// A request without Response Topic or Correlation Data cannot be answered: it is logged and dropped.
// Prints "rpc-worker NAME: ready ..." once subscribed; one line per request; exits 0 on SIGTERM/SIGINT
// (answers still waiting, e.g. a slow one, are not sent: their callers get `timeout`).
import mqtt from 'mqtt';
import { parseArgs } from 'node:util';

const USAGE = 'usage: rpc-worker.mjs [--broker URL|HOST:PORT] [--prefix P] [--group G] [--name N] [--quiet]';

let args;
try {
  args = parseArgs({
    options: {
      broker: { type: 'string' },
      prefix: { type: 'string' },
      group: { type: 'string' },
      name: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
} catch (e) {
  console.error(`rpc-worker: ${e.message}\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const env = process.env;
let broker = args.broker ?? env.MQTT_URL ?? `mqtt://${env.MQTT_HOST || '127.0.0.1'}:${env.MQTT_PORT || '1883'}`;
if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(broker)) broker = `mqtt://${broker}`; // HOST:PORT, as the edge takes it
const prefix = (args.prefix ?? env.PREFIX ?? 'mqedge/v1').replace(/\/+$/, '');
const group = args.group ?? env.RPC_GROUP ?? 'workers';
const name = args.name ?? env.RPC_NAME ?? `w${process.pid}`;
const quiet = !!args.quiet;
// a share name and a client id may not carry topic wildcards or separators
for (const [what, v] of [['--group', group], ['--name', name]]) {
  if (!/^[A-Za-z0-9_.@:-]{1,64}$/.test(v)) {
    console.error(`rpc-worker: ${what} '${v}' must be 1-64 of A-Z a-z 0-9 _ . @ : -`);
    process.exit(2);
  }
}
if (!prefix || /[+#]/.test(prefix)) {
  console.error(`rpc-worker: --prefix '${prefix}' must be a topic without wildcards`);
  process.exit(2);
}

const base = `${prefix}/rpc/`;
const filter = `$share/${group}/${base}+`;
const log = (line) => { if (!quiet) console.log(`rpc-worker ${name}: ${line}`); };

/** An error answer: the code must match [a-z][a-z0-9_]{0,31} (PROTOCOL.md section 11). */
class RpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const timers = new Set(); // the slow answers still to come (cleared on shutdown)
const sleep = (ms) => new Promise((resolve) => {
  const t = setTimeout(() => { timers.delete(t); resolve(); }, ms);
  timers.add(t);
});

const methods = {
  // The caller is whoever the edge says it is: the token's `sub` it verified. A `user` in the payload
  // would be whatever the client typed.
  whoami: (_data, caller) => {
    if (!caller.user) throw new RpcError('no_caller', 'the request carries no user property');
    return { ...caller, worker: name };
  },
  echo: (data) => data,
  add: (data) => {
    const ok = data && typeof data === 'object' && Number.isFinite(data.a) && Number.isFinite(data.b);
    if (!ok) throw new RpcError('bad_args', 'add takes {"a": number, "b": number}');
    return { sum: data.a + data.b };
  },
  slow: async (data) => {
    const ms = data?.ms ?? 10000;
    if (!Number.isInteger(ms) || ms < 0 || ms > 600000) throw new RpcError('bad_args', 'slow takes {"ms": 0..600000}');
    await sleep(ms);
    return { slept_ms: ms };
  },
  fail: () => {
    throw new RpcError('failed_on_purpose', 'the fail method always fails (an example of a backend error)');
  },
};

// A user property the edge set once; repeated ones arrive as an array (take the first).
const prop = (up, key) => {
  const v = up?.[key];
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : null;
};

const client = mqtt.connect(broker, {
  protocolVersion: 5,
  clientId: `rpc-${group}-${name}`, // one session per worker: give each worker its own --name
  clean: true,
  username: env.MQTT_USERNAME || undefined,
  password: env.MQTT_PASSWORD || undefined,
  reconnectPeriod: 1000,
  connectTimeout: 10000,
});

let ready = false;
let stopping = false;

client.on('connect', () => {
  client.subscribe(filter, { qos: 1 }, (err, granted) => {
    const bad = err?.message ?? (granted?.[0]?.qos >= 0x80 ? `reason code 0x${granted[0].qos.toString(16)}` : null);
    if (bad) {
      console.error(`rpc-worker ${name}: the broker refused the subscription ${filter}: ${bad}`);
      process.exit(1);
    }
    if (!ready) {
      ready = true;
      console.log(`rpc-worker ${name}: ready (broker ${broker}, ${filter} at QoS 1; methods ${Object.keys(methods).join(' ')})`);
    } else {
      log('reconnected and subscribed again');
    }
  });
});
client.on('reconnect', () => log('reconnecting to the broker'));
client.on('error', (e) => { if (!stopping) console.error(`rpc-worker ${name}: ${e.message}`); });

client.on('message', (topic, payload, packet) => {
  const props = packet.properties ?? {};
  const responseTopic = props.responseTopic;
  const correlation = props.correlationData;
  if (!topic.startsWith(base)) return;
  const method = topic.slice(base.length);
  if (!responseTopic || !correlation || !correlation.length) {
    log(`${method}: no Response Topic or Correlation Data; dropped (nobody to answer)`);
    return;
  }
  const up = props.userProperties;
  const caller = { user: prop(up, 'user'), kind: prop(up, 'kind'), session: prop(up, 'session'), edge: prop(up, 'edge') };
  handle(method, payload, caller).then((answer) => {
    if (stopping) return;
    const body = JSON.stringify(answer);
    client.publish(responseTopic, body, { qos: 1, properties: { correlationData: correlation, contentType: 'application/json' } }, (err) => {
      if (err) console.error(`rpc-worker ${name}: answer to ${method} not sent: ${err.message}`);
    });
    log(`${method} from ${caller.user ?? '?'} (${caller.edge ?? '?'}) → ${answer.error ? `error ${answer.error.code}` : 'ok'}`);
  });
});

/** The answer object for one request: {data} or {error: {code, message}}. */
async function handle(method, payload, caller) {
  const fn = Object.hasOwn(methods, method) ? methods[method] : null;
  if (!fn) return { error: { code: 'unknown_method', message: `no method '${method}' here` } };
  let data = null;
  if (payload.length) {
    try {
      data = JSON.parse(payload.toString('utf8'));
    } catch {
      return { error: { code: 'bad_args', message: 'the request payload is not JSON' } };
    }
  }
  try {
    const result = await fn(data, caller);
    return { data: result === undefined ? null : result };
  } catch (e) {
    if (e instanceof RpcError) return { error: { code: e.code, message: e.message } };
    console.error(`rpc-worker ${name}: ${method} failed:`, e);
    return { error: { code: 'internal', message: 'the worker failed' } };
  }
}

function stop(sig) {
  if (stopping) return;
  stopping = true;
  for (const t of timers) clearTimeout(t);
  timers.clear();
  const force = setTimeout(() => process.exit(0), 2000);
  force.unref();
  client.end(false, {}, () => {
    log(`stopped (${sig})`);
    process.exit(0);
  });
}
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));
