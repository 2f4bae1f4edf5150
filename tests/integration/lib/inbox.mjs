// Helpers for the inbox tests (PROTOCOL.md section 7): clusters whose edges' inbox sessions are known to
// be subscribed, the HTTP notification API with schema-checked answers, an MQTT watcher that checks the
// read/settings payloads edges publish, /metrics parsed as Prometheus text, and inbox paging.
//
// Readiness: /readyz answers 200 once an edge's live broker session is up, which says nothing about its
// second, inbox session (PROTOCOL.md does not promise that either). A notification published before that
// session has subscribed would never reach the edge, so tests wait for the broker's own subscription log
// ("mqedge-<edge>-inbox 1 mqedge/v1/user/+/notify") -- an answer from the broker, not a sleep.
import http from 'node:http';
import https from 'node:https';
import { PREFIX, topics, waitFor } from './harness.mjs';
import { checkNotificationCreated, checkHttpErrorStatus, checkReadSync, checkSettingsSync, checkNotification } from './schemas.mjs';

export const API_PATH = '/api/v1/notifications';
export const API_KEY = 'k-inbox-test-1';

// The inbox topics every edge subscribes to (inbox-scope all).
const INBOX_TOPICS = [`${PREFIX}/user/+/notify`, `${PREFIX}/notify/all`, `${PREFIX}/user/+/read`, `${PREFIX}/user/+/settings`];

// Resolves once the broker's log shows edge's inbox session subscribing to every inbox topic, in log lines
// after index `since` (use broker.proc.lines.length taken before a (re)start).
export async function waitInboxSubscribed(broker, edge, { since = 0, timeoutMs = 15000 } = {}) {
  const cid = `mqedge-${edge.id}-inbox`;
  await waitFor(
    () => {
      const lines = broker.proc.lines.slice(since);
      return INBOX_TOPICS.every((t) => lines.some((l) => l.includes(`: ${cid} 1 ${t}`)));
    },
    { timeoutMs, intervalMs: 25, what: `${cid} subscribed to the inbox topics (broker log)` },
  );
}

// Broker + n edges (e1..en), each with its own --data-dir (the harness gives one per edge), ready and with
// the inbox session subscribed. extra: flags for every edge; perEdge[i]: more flags for edge i.
export async function inboxCluster(env, n = 2, { extra = [], perEdge = [] } = {}) {
  const broker = await env.startBroker();
  const edges = [];
  for (let i = 0; i < n; i++) edges.push(await env.startEdge({ id: `e${i + 1}`, broker, extra: [...extra, ...(perEdge[i] ?? [])] }));
  for (const e of edges) await waitInboxSubscribed(broker, e);
  return { broker, edges };
}

// Restarts an edge (SIGKILL first if it still runs) on the same port, data dir and edge id, and waits
// until it is ready and its inbox session has subscribed again.
export async function restartEdge(edge, broker) {
  const since = broker.proc.lines.length;
  await edge.restart();
  await waitInboxSubscribed(broker, edge, { since });
}

// Any HTTP request to 127.0.0.1:port (or host:port). Resolves { status, headers, body, json } as soon as the response is
// complete, even when the server answered (e.g. 413) before reading the whole request body. A body is sent
// with Content-Length unless headers say otherwise (transfer-encoding: chunked; undefined drops a header).
// url (instead of port and path): any http:// or https:// address (certificates are not checked);
// localAddress: the local address to connect from.
export function httpRequest(port, path, { method = 'GET', headers = {}, body, timeoutMs = 15000, url, localAddress, host = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    const buf = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    const h = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined));
    if (buf && !('content-length' in h) && !('transfer-encoding' in h)) h['content-length'] = String(buf.length);
    const target = url ? new URL(url) : null;
    const req = (target?.protocol === 'https:' ? https : http).request({
      host: target ? target.hostname : host, port: target ? target.port : port, path: target ? target.pathname + target.search : path,
      method, headers: h, agent: false, timeout: timeoutMs, localAddress, rejectUnauthorized: false,
    });
    let settled = false;
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        settled = true;
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, body: text, json });
      });
      res.on('error', (e) => !settled && reject(e));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', (e) => {
      if (!settled && !['EPIPE', 'ECONNRESET'].includes(e.code)) reject(e);
      else if (!settled) setTimeout(() => !settled && reject(e), 2000); // the response may still be readable
    });
    if (buf) req.write(buf);
    req.end();
  });
}

// POST /api/v1/notifications (or another method). payload: an object/array (JSON-encoded) or a string sent
// as-is. auth: 'bearer' (Authorization: Bearer KEY), 'x-api-key', or 'none'. Every answer is checked: 201
// against notification-request.schema.json#/$defs/created, anything else against http-error.schema.json
// with the status its code goes with; violations fail the test at teardown.
export async function api(env, edge, payload, { key = API_KEY, auth = 'bearer', method = 'POST', headers = {}, path = API_PATH } = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  if (auth === 'bearer') h.authorization = `Bearer ${key}`;
  else if (auth === 'x-api-key') h['x-api-key'] = key;
  const body = payload === undefined ? undefined : typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
  const r = await httpRequest(edge.port, path, { method, headers: h, body, host: edge.host });
  const bad = r.status === 201 ? checkNotificationCreated(r.json) : checkHttpErrorStatus(r.status, r.json);
  if (bad) env.violations.push(`${method} ${path} on ${edge.name} -> HTTP ${r.status}: ${bad}; body: ${r.body.slice(0, 300)}`);
  return r;
}

// An MQTT subscriber on the read and settings topics of every user (and, with notify: true, the notify
// topics): each payload is checked against its schema (inbox-sync.schema.json, notification.schema.json for
// what edges publish on HTTP ingest); violations fail the test at teardown. Use only where every payload on
// those topics comes from an edge.
export async function watchInboxTopics(env, broker, { notify = false, name = 'inbox-watch' } = {}) {
  const peer = await env.mqtt(broker, { name });
  peer.client.on('message', (topic, payload) => {
    let json;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      env.violations.push(`${topic}: payload is not JSON: ${payload.toString('utf8').slice(0, 200)}`);
      return;
    }
    const check = topic.endsWith('/read') ? checkReadSync : topic.endsWith('/settings') ? (payload.length ? checkSettingsSync : () => null) : checkNotification;
    const bad = check(json);
    if (bad) env.violations.push(`${topic}: ${bad}; payload: ${payload.toString('utf8').slice(0, 300)}`);
  });
  await peer.sub(topics.read('+'));
  await peer.sub(topics.settings('+'));
  if (notify) {
    await peer.sub(topics.notify('+'));
    await peer.sub(topics.notifyAll());
  }
  return peer;
}

// GET /metrics, parsed strictly as Prometheus text format 0.0.4: every line is a # HELP / # TYPE comment
// or `name[{labels}] value [timestamp]`; every sample's metric has a TYPE declared before it; no metric is
// declared twice. Returns Map name -> value for unlabelled samples (labelled ones under name{labels}), with
// .types: Map name -> counter|gauge|...
export async function metrics(edge) {
  const r = await httpRequest(edge.port, '/metrics', { host: edge.host });
  if (r.status !== 200) throw new Error(`${edge.name} /metrics answered ${r.status}`);
  if (!/^text\/plain/.test(r.headers['content-type'] ?? '')) throw new Error(`${edge.name} /metrics content-type ${r.headers['content-type']}`);
  return parsePrometheus(r.body, edge.name);
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const VALUE = '(?:[+-]?(?:\\d+\\.?\\d*(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?)|[+-]?Inf|NaN)';
export function parsePrometheus(text, what = 'metrics') {
  const types = new Map();
  const helps = new Set();
  const out = new Map();
  if (!text.endsWith('\n')) throw new Error(`${what}: does not end with a newline`);
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, i) => {
    const where = `${what} line ${i + 1}: ${JSON.stringify(line)}`;
    let m;
    if ((m = line.match(new RegExp(`^# HELP (${NAME}) (.*)$`)))) {
      if (helps.has(m[1])) throw new Error(`${where}: second HELP`);
      helps.add(m[1]);
    } else if ((m = line.match(new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`)))) {
      if (types.has(m[1])) throw new Error(`${where}: second TYPE`);
      types.set(m[1], m[2]);
    } else if (line.startsWith('#')) {
      /* other comments are allowed */
    } else if ((m = line.match(new RegExp(`^(${NAME})(\\{[^}]*\\})? (${VALUE})(?: -?\\d+)?$`)))) {
      const base = m[1].replace(/_(bucket|sum|count)$/, '');
      if (!types.has(m[1]) && !types.has(base)) throw new Error(`${where}: sample without a TYPE`);
      const v = Number(m[3].replace(/^\+?Inf$/, 'Infinity').replace(/^-Inf$/, '-Infinity'));
      if (types.get(m[1]) === 'counter' && !(v >= 0)) throw new Error(`${where}: negative counter`);
      out.set(m[1] + (m[2] ?? ''), v);
    } else if (line.trim() !== '') {
      throw new Error(`${where}: not Prometheus text`);
    }
  });
  out.types = types;
  return out;
}

// One metric's value (throws when absent).
export async function metric(edge, name) {
  const m = await metrics(edge);
  if (!m.has(name)) throw new Error(`${edge.name} /metrics has no ${name}`);
  return m.get(name);
}

// Polls until edge's mqedge_inbox_stored_total reaches atLeast.
export async function waitStored(edge, atLeast, timeoutMs = 15000) {
  await waitFor(async () => (await metric(edge, 'mqedge_inbox_stored_total')) >= atLeast, {
    timeoutMs,
    intervalMs: 50,
    what: `${edge.name} mqedge_inbox_stored_total >= ${atLeast}`,
  });
}

// Every inbox item of the client's user, newest first, paging with `before` (limit per page).
export async function inboxAll(client, { limit = 1000 } = {}) {
  const items = [];
  let before;
  for (;;) {
    const r = await inboxPage(client, before === undefined ? { limit } : { limit, before });
    items.push(...r.items);
    if (!r.more || !r.items.length) return { items, unread: r.unread };
    before = r.items[r.items.length - 1].id;
  }
}

// One inbox request; resolves the inbox reply (throws on an error reply).
export async function inboxPage(client, args = {}) {
  const r = await client.request({ op: 'inbox', ...args }, { timeoutMs: 10000 });
  if (r.op !== 'inbox') throw new Error(`${client.name}: expected an inbox reply to ${JSON.stringify(args)}, got ${JSON.stringify(r)}`);
  return r;
}

// Notifications (op notify) a client has received so far, consumed or not, in arrival order.
export const notifies = (client) => client.all.filter((f) => f.op === 'notify');

// Waits until the client has received a notify frame for every id in ids (consumed or not).
export function untilNotified(client, ids, timeoutMs = 15000, what = 'notifications') {
  return client
    .until((c) => ids.every((id) => c.all.some((f) => f.op === 'notify' && f.id === id)), timeoutMs, what)
    .catch((e) => {
      const have = new Set(notifies(client).map((f) => f.id));
      throw new Error(`${e.message}; missing ${ids.filter((id) => !have.has(id)).length} of ${ids.length}: ${ids.filter((id) => !have.has(id)).slice(0, 10).join(', ')}`);
    });
}

// { pushed: the frames between welcome and the backlog frame, backlog: that frame } (waits for it).
export async function backlogOf(client, timeoutMs = 10000) {
  await client.until((c) => c.all.some((f) => f.op === 'backlog'), timeoutMs, 'the backlog frame');
  const i = client.all.findIndex((f) => f.op === 'backlog');
  const start = client.all[0]?.op === 'welcome' ? 1 : 0;
  return { pushed: client.all.slice(start, i), backlog: client.all[i] };
}

// A remind/mailbox/announcement notification body (without id/ts unless given).
export const remind = (extra = {}) => ({ kind: 'remind', action: 'commented', object_type: 'post', object_id: 'p1', actor: 'carol', title: 'carol commented', ...extra });
export const mailbox = (extra = {}) => ({ kind: 'mailbox', actor: 'carol', title: 'a message', ...extra });
export const announcement = (extra = {}) => ({ kind: 'announcement', title: 'hello everyone', ...extra });
