// Loads every JSON Schema in schemas/ (listed by schemas/index.json) into one Ajv 2020-12 instance and
// exposes validators. The harness runs every frame an edge sends and every frame a test sends through
// these, so each integration test also checks the real frames against the contract.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '..', '..', '..');
export const SCHEMA_DIR = join(REPO_ROOT, 'schemas');
export const SCHEMA_BASE = 'https://mqedge.invalid/schemas/v1/';

export const index = JSON.parse(readFileSync(join(SCHEMA_DIR, 'index.json'), 'utf8'));

export const ajv = new Ajv2020({
  allErrors: true,
  strictSchema: true, // unknown keywords in our schemas are mistakes
  strictNumbers: true,
  strictTuples: true,
  strictTypes: false, // applicators (if/oneOf) on parts of objects are intended
  strictRequired: false, // 'required' inside oneOf branches names properties declared beside it
});
addFormats(ajv);
export const raw = {};
for (const file of Object.keys(index.schemas)) {
  const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8'));
  raw[file] = schema;
  ajv.addSchema(schema);
}

function getValidator(file, pointer = '') {
  const v = ajv.getSchema(SCHEMA_BASE + file + (pointer ? '#' + pointer : ''));
  if (!v) throw new Error(`schema ${file}${pointer ? '#' + pointer : ''} not found`);
  return v;
}

function fmt(errors) {
  return (errors || []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`).join('; ');
}

// Validates a frame against the schema of its op when the op is known (precise messages), then the
// whole oneOf (the actual contract). Returns null when valid, else a human-readable reason.
function checkFrame(file, frame, ops) {
  const whole = getValidator(file);
  if (whole(frame)) return null;
  const op = frame && typeof frame === 'object' ? frame.op : undefined;
  if (typeof op === 'string' && ops.includes(op)) {
    const one = getValidator(file, `/$defs/${op}`);
    if (!one(frame)) return `${file}#/$defs/${op}: ${fmt(one.errors)}`;
  }
  return `${file}: ${fmt(whole.errors)}`;
}

const EDGE_OPS = ['welcome', 'ok', 'error', 'msg', 'telemetry', 'cmd', 'pong', 'notify', 'backlog', 'inbox', 'read'];
const CLIENT_OPS = ['sub', 'unsub', 'pub', 'send', 'cmd', 'ping', 'refresh', 'telemetry', 'inbox', 'read', 'settings', 'presence', 'history', 'rpc'];

export const checkEdgeFrame = (f) => checkFrame('edge-frame.schema.json', f, EDGE_OPS);
export const checkClientFrame = (f) => checkFrame('client-frame.schema.json', f, CLIENT_OPS);
export function check(file, value, pointer = '') {
  const v = getValidator(file, pointer);
  return v(value) ? null : `${file}${pointer ? '#' + pointer : ''}: ${fmt(v.errors)}`;
}
export const checkEnvelope = (v) => check('envelope.schema.json', v);
export const checkEdgeStatus = (v) => check('edge-status.schema.json', v);
export const checkHttpError = (v) => check('http-error.schema.json', v);
export const checkClaims = (v) => check('token-claims.schema.json', v);
// The inbox (PROTOCOL.md section 7).
export const checkNotification = (v) => check('notification.schema.json', v);
export const checkNotificationIngress = (v) => check('notification.schema.json', v, '/$defs/ingress');
export const checkNotificationRequest = (v) => check('notification-request.schema.json', v);
export const checkNotificationCreated = (v) => check('notification-request.schema.json', v, '/$defs/created');
export const checkReadSync = (v) => check('inbox-sync.schema.json', v, '/$defs/read');
export const checkSettingsSync = (v) => check('inbox-sync.schema.json', v, '/$defs/settings');
// An HTTP error body, and its status: the one http-error.schema.json#/$defs/status gives for its code.
export function checkHttpErrorStatus(status, body) {
  const bad = checkHttpError(body);
  if (bad) return bad;
  const want = raw['http-error.schema.json'].$defs.status.properties[body.error]?.const;
  return want === status ? null : `HTTP ${status} with error ${body.error} (schema says ${want})`;
}

// Throwing variants for tests.
function assertOk(reason, what, value) {
  if (reason) throw new Error(`schema violation (${what}): ${reason}\n  value: ${JSON.stringify(value)?.slice(0, 2000)}`);
}
export const assertEdgeFrame = (f) => assertOk(checkEdgeFrame(f), 'edge frame', f);
export const assertClientFrame = (f) => assertOk(checkClientFrame(f), 'client frame', f);
export const assertEnvelope = (v) => assertOk(checkEnvelope(v), 'envelope', v);
export const assertEdgeStatus = (v) => assertOk(checkEdgeStatus(v), 'edge status', v);
export const assertHttpError = (v) => assertOk(checkHttpError(v), 'http error body', v);
export const assertClaims = (v) => assertOk(checkClaims(v), 'token claims', v);
export const assertNotification = (v) => assertOk(checkNotification(v), 'notification', v);
export const assertReadSync = (v) => assertOk(checkReadSync(v), 'read payload', v);
export const assertSettingsSync = (v) => assertOk(checkSettingsSync(v), 'settings payload', v);
export const checkRpcReply = (v) => check('rpc-reply.schema.json', v);
// The server API (PROTOCOL.md section 8, Server API): def is one of server-api.schema.json's $defs.
export const checkServerApi = (def, v) => check('server-api.schema.json', v, `/$defs/${def}`);
