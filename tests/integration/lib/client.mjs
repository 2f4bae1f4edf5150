// A WebSocket client (npm `ws`) wrapped with a frame queue. Every frame the edge sends is parsed and
// validated against schemas/edge-frame.schema.json; every frame sent with send()/request() is validated
// against schemas/client-frame.schema.json (sendRaw() skips that, for deliberately bad input).
// Schema violations are collected in client.violations and fail the test at teardown.
import WebSocket from 'ws';
import { checkEdgeFrame, checkClientFrame } from './schemas.mjs';

let refSeq = 0;
export const uniqueRef = (prefix = 'r') => `${prefix}${process.pid.toString(36)}-${(++refSeq).toString(36)}`;

export class Client {
  constructor(ws, name) {
    this.ws = ws;
    this.name = name;
    this.frames = []; // unconsumed parsed frames
    this.all = []; // every parsed frame ever received, in order
    this.violations = [];
    this.pings = 0;
    this.closed = null; // { code, reason } once closed
    this.welcome = null;
    this.ignores = []; // predicates: matching frames are validated, then kept out of frames/all
    this.ignored = [];
    this._waiters = new Set();
    this._closeWaiters = [];
    ws.on('message', (data, isBinary) => this._onMessage(data, isBinary));
    ws.on('ping', () => {
      this.pings++;
      this._wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString('utf8') };
      for (const w of this._closeWaiters.splice(0)) w(this.closed);
      this._wake();
    });
    ws.on('error', (err) => {
      this.lastError = err;
    });
  }

  _onMessage(data, isBinary) {
    if (isBinary) {
      this.violations.push(`binary frame from edge (${data.length} bytes)`);
      return;
    }
    const text = data.toString('utf8');
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      this.violations.push(`edge sent non-JSON text: ${text.slice(0, 200)}`);
      return;
    }
    const bad = checkEdgeFrame(frame);
    if (bad) this.violations.push(`${bad}\n    frame: ${text.slice(0, 500)}`);
    if (this.ignores.some((p) => p(frame))) {
      this.ignored.push(frame);
      this._wake();
      return;
    }
    this.all.push(frame);
    this.frames.push(frame);
    this._wake();
  }

  _wake() {
    for (const w of [...this._waiters]) w();
  }

  // From now on, frames matching pred are dropped (after schema validation) into this.ignored.
  ignore(pred) {
    this.ignores.push(pred);
    for (let i = this.frames.length - 1; i >= 0; i--) if (pred(this.frames[i])) this.ignored.push(...this.frames.splice(i, 1));
    this.all = this.all.filter((f) => !pred(f));
  }

  get user() {
    return this.welcome?.user;
  }

  // Resolves with (and removes from the queue) the first unconsumed frame matching pred.
  next(pred = () => true, timeoutMs = 5000, what = 'a frame') {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.frames.findIndex((f) => pred(f));
        if (i >= 0) {
          const [f] = this.frames.splice(i, 1);
          cleanup();
          resolve(f);
          return true;
        }
        if (this.closed) {
          cleanup();
          reject(new Error(`${this.name}: connection closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}; unconsumed: ${this._pending()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}; unconsumed: ${this._pending()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this._waiters.delete(check);
      };
      if (!check()) this._waiters.add(check);
    });
  }

  _pending() {
    return JSON.stringify(this.frames.slice(0, 5)).slice(0, 800) + (this.frames.length > 5 ? ` (+${this.frames.length - 5} more)` : '');
  }

  // Asserts that no frame matching pred arrives within windowMs (already-queued ones count too).
  async none(pred, windowMs = 400, what = 'frame') {
    const hit = () => this.frames.find((f) => pred(f));
    if (hit()) throw new Error(`${this.name}: unexpected ${what}: ${JSON.stringify(hit())}`);
    await new Promise((resolve, reject) => {
      const check = () => {
        const f = hit();
        if (f) {
          cleanup();
          reject(new Error(`${this.name}: unexpected ${what}: ${JSON.stringify(f)}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve();
      }, windowMs);
      const cleanup = () => {
        clearTimeout(timer);
        this._waiters.delete(check);
      };
      this._waiters.add(check);
    });
  }

  // Waits until cond(this) is truthy (re-evaluated on every frame/ping/close).
  until(cond, timeoutMs = 5000, what = 'condition') {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = cond(this);
        if (v) {
          cleanup();
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this._waiters.delete(check);
      };
      this._waiters.add(check);
      check();
    });
  }

  // Sends a frame after checking it against the client schema (a test bug otherwise).
  send(frame) {
    const bad = checkClientFrame(frame);
    if (bad) throw new Error(`${this.name}: test tried to send a frame outside the schema: ${bad}\n  frame: ${JSON.stringify(frame)}`);
    this.ws.send(JSON.stringify(frame));
  }

  // Sends anything without validation: a string/Buffer as-is (text unless binary:true) or an object as JSON.
  sendRaw(data, { binary = false } = {}) {
    if (typeof data === 'object' && !Buffer.isBuffer(data)) data = JSON.stringify(data);
    this.ws.send(data, { binary });
  }

  // Sends op with a unique ref (unless one is given) and resolves with the reply carrying that ref
  // (ok, error, pong, or inbox/history for those ops). Does not throw on error replies: check reply.op.
  async request(op, { timeoutMs = 5000, raw = false } = {}) {
    const frame = { ...op };
    if (!('ref' in frame)) frame.ref = uniqueRef();
    if (raw) this.sendRaw(frame);
    else this.send(frame);
    return this.next((f) => f.ref === frame.ref && ['ok', 'error', 'pong', 'inbox', 'history'].includes(f.op), timeoutMs, `reply to ${JSON.stringify(frame).slice(0, 200)}`);
  }

  // request() that insists on ok (or pong for ping, inbox for inbox).
  async ok(op, opts) {
    const r = await this.request(op, opts);
    const want = op.op === 'ping' ? 'pong' : op.op === 'inbox' || op.op === 'history' ? op.op : 'ok';
    if (r.op !== want) throw new Error(`${this.name}: expected ${want} for ${JSON.stringify(op).slice(0, 200)}, got ${JSON.stringify(r)}`);
    return r;
  }

  // request() that insists on an error with the given code.
  async err(op, code, opts) {
    const r = await this.request(op, opts);
    if (r.op !== 'error' || r.code !== code) throw new Error(`${this.name}: expected error ${code} for ${JSON.stringify(op).slice(0, 200)}, got ${JSON.stringify(r)}`);
    return r;
  }

  // Resolves { code, reason } when the connection closes (immediately if it already has).
  waitClose(timeoutMs = 5000) {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: not closed within ${timeoutMs} ms`)), timeoutMs);
      this._closeWaiters.push((c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  close(code = 1000) {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      try {
        this.ws.close(code);
      } catch {
        this.ws.terminate();
      }
    }
  }

  terminate() {
    this.ws.terminate();
  }

  // Messages (op msg) collected so far for a room, consumed or not, in arrival order.
  roomMsgs(room) {
    return this.all.filter((f) => f.op === 'msg' && f.room === room);
  }
}

// Opens a WebSocket. Resolves { client } on upgrade (after the welcome frame), or { status, body, headers }
// when the edge answers with a plain HTTP response instead. via: 'query' | 'header' | 'cookie'.
// wsOptions: more options for npm ws (localAddress, rejectUnauthorized, ...).
export function openWs(url, { token, via = 'query', origin, protocols, headers = {}, name = 'client', timeoutMs = 5000, maxPayload, wsOptions = {} } = {}) {
  const u = new URL(url);
  const h = { ...headers };
  if (token !== undefined && token !== null) {
    if (via === 'query') u.searchParams.set('token', token);
    else if (via === 'header') h.Authorization = `Bearer ${token}`;
    else if (via === 'cookie') h.Cookie = `mqedge_token=${token}`;
    else throw new Error(`unknown token transport ${via}`);
  }
  const opts = { headers: h, handshakeTimeout: timeoutMs, perMessageDeflate: false };
  if (origin) opts.origin = origin;
  if (maxPayload) opts.maxPayload = maxPayload;
  Object.assign(opts, wsOptions);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(u.toString(), protocols, opts);
    let settled = false;
    const settle = (fn, v) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn(v);
    };
    const timer = setTimeout(() => {
      ws.terminate();
      settle(reject, new Error(`${name}: no upgrade or HTTP answer within ${timeoutMs} ms from ${u}`));
    }, timeoutMs + 1000);
    ws.on('unexpected-response', (req, res) => {
      const chunks = [];
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        const text = Buffer.concat(chunks).toString('utf8');
        let body = null;
        try {
          body = JSON.parse(text);
        } catch {
          body = { _unparsed: text };
        }
        req.destroy();
        res.destroy();
        settle(resolve, { status: res.statusCode, body, headers: res.headers });
      };
      res.on('data', (c) => {
        chunks.push(c);
        // Some servers keep the connection open after the body: stop as soon as it parses.
        try {
          JSON.parse(Buffer.concat(chunks).toString('utf8'));
          finish();
        } catch {
          /* wait for more */
        }
      });
      res.on('end', finish);
      res.on('error', finish);
      res.on('close', finish);
    });
    const client = new Client(ws, name);
    ws.on('open', () => {
      // The first frame must be welcome.
      client
        .next(() => true, timeoutMs, 'welcome')
        .then((f) => {
          if (f.op !== 'welcome') throw new Error(`${name}: first frame is not welcome: ${JSON.stringify(f)}`);
          client.welcome = f;
          settle(resolve, { client, status: 101 });
        })
        .catch((e) => {
          ws.terminate();
          settle(reject, e);
        });
    });
    ws.on('error', (err) => settle(reject, new Error(`${name}: ${err.message}`)));
  });
}
