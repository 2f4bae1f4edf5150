// A deliberately minimal WebSocket client over net.Socket, for what a well-behaved library will not do:
// send malformed frames (invalid UTF-8 in a text frame), never answer PINGs, or stop reading altogether.
// Main flows use npm `ws`; this is only for misbehaving peers.
import net from 'node:net';
import { randomBytes, createHash } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };

export class RawWs {
  constructor() {
    this.frames = []; // { opcode, payload: Buffer, fin }
    this.waiters = [];
    this.pings = 0;
    this.bytesReceived = 0;
    this.closeFrame = null; // { code, reason }
    this.ended = false; // TCP closed (end or error)
    this.endError = null;
    this.autoPong = true;
    this._buf = Buffer.alloc(0);
    this._endWaiters = [];
  }

  // Opens a TCP connection, performs the HTTP upgrade, resolves once 101 arrived.
  // Rejects with err.status / err.body when the server answers something else.
  // version: the Sec-WebSocket-Version sent (null: none).
  static async connect({ host = '127.0.0.1', port, path = '/ws', headers = {}, autoPong = true, timeoutMs = 5000, version = '13' }) {
    const c = new RawWs();
    c.autoPong = autoPong;
    await c._handshake({ host, port, path, headers, timeoutMs, version });
    return c;
  }

  _handshake({ host, port, path, headers, timeoutMs, version }) {
    return new Promise((resolve, reject) => {
      const key = randomBytes(16).toString('base64');
      const expectAccept = createHash('sha1').update(key + GUID).digest('base64');
      const sock = net.connect({ host, port });
      this.sock = sock;
      let head = Buffer.alloc(0);
      let done = false;
      const timer = setTimeout(() => fail(new Error('raw ws handshake timed out')), timeoutMs);
      const fail = (err) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.destroy();
        reject(err);
      };
      sock.on('error', fail);
      sock.on('connect', () => {
        const lines = [
          `GET ${path} HTTP/1.1`,
          `Host: ${host}:${port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${key}`,
          ...(version === null ? [] : [`Sec-WebSocket-Version: ${version}`]),
          ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
          '',
          '',
        ];
        sock.write(lines.join('\r\n'));
      });
      const onData = (chunk) => {
        head = Buffer.concat([head, chunk]);
        const idx = head.indexOf('\r\n\r\n');
        if (idx < 0) return;
        const text = head.subarray(0, idx).toString('latin1');
        const rest = head.subarray(idx + 4);
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1]);
        if (status !== 101) {
          // the body may come in a later segment: wait for all of Content-Length
          const want = Number(/content-length:\s*(\d+)/i.exec(text)?.[1] ?? 0);
          if (rest.length < want) return;
          const err = new Error(`raw ws handshake refused: HTTP ${status}`);
          err.status = status;
          err.head = text;
          err.body = rest.toString('utf8');
          return fail(err);
        }
        const accept = /sec-websocket-accept:\s*(\S+)/i.exec(text)?.[1];
        if (accept !== expectAccept) return fail(new Error(`bad Sec-WebSocket-Accept: ${accept}`));
        done = true;
        clearTimeout(timer);
        sock.off('data', onData);
        sock.off('error', fail);
        sock.on('data', (d) => this._onData(d));
        sock.on('error', (e) => { this.endError = e; this._onEnd(); });
        sock.on('close', () => this._onEnd());
        sock.on('end', () => this._onEnd());
        if (rest.length) this._onData(rest);
        resolve();
      };
      sock.on('data', onData);
    });
  }

  _onEnd() {
    if (this.ended) return;
    this.ended = true;
    for (const w of this._endWaiters.splice(0)) w();
    this._wake();
  }

  _onData(chunk) {
    this.bytesReceived += chunk.length;
    this._buf = this._buf.length ? Buffer.concat([this._buf, chunk]) : chunk;
    for (;;) {
      const b = this._buf;
      if (b.length < 2) return;
      const fin = (b[0] & 0x80) !== 0;
      const opcode = b[0] & 0x0f;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      let mask = null;
      if (masked) {
        if (b.length < off + 4) return;
        mask = b.subarray(off, off + 4);
        off += 4;
      }
      if (b.length < off + len) return;
      let payload = Buffer.from(b.subarray(off, off + len));
      if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      this._buf = b.subarray(off + len);
      this._onFrame({ fin, opcode, payload, masked });
    }
  }

  _onFrame(f) {
    if (f.opcode === OP.ping) {
      this.pings++;
      if (this.autoPong && !this.ended) this.sendFrame(OP.pong, f.payload);
    } else if (f.opcode === OP.close) {
      this.closeFrame = {
        code: f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005,
        reason: f.payload.subarray(2).toString('utf8'),
      };
    }
    this.frames.push(f);
    this._wake();
  }

  _wake() {
    for (const w of this.waiters.slice()) w();
  }

  // Sends one frame. Client frames are masked unless mask:false. rsv sets RSV bits (0-7).
  sendFrame(opcode, payload = Buffer.alloc(0), { fin = true, mask = true, rsv = 0 } = {}) {
    payload = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
    const len = payload.length;
    let header;
    if (len < 126) {
      header = Buffer.alloc(2);
      header[1] = len;
    } else if (len < 65536) {
      header = Buffer.alloc(4);
      header[1] = 126;
      header.writeUInt16BE(len, 2);
    } else {
      header = Buffer.alloc(10);
      header[1] = 127;
      header.writeBigUInt64BE(BigInt(len), 2);
    }
    header[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
    let body = payload;
    if (mask) {
      header[1] |= 0x80;
      const key = randomBytes(4);
      body = Buffer.from(payload);
      for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
      header = Buffer.concat([header, key]);
    }
    return this.sock.write(Buffer.concat([header, body]));
  }

  sendText(str) {
    return this.sendFrame(OP.text, Buffer.from(str, 'utf8'));
  }

  sendJson(obj) {
    return this.sendText(JSON.stringify(obj));
  }

  // JSON objects received in text frames so far (parse failures are kept as { _unparsed }).
  json() {
    return this.frames
      .filter((f) => f.opcode === OP.text)
      .map((f) => {
        try {
          return JSON.parse(f.payload.toString('utf8'));
        } catch {
          return { _unparsed: f.payload.toString('utf8') };
        }
      });
  }

  // Resolves when pred(this) is true; rejects after timeoutMs.
  waitFor(pred, timeoutMs, what = 'condition') {
    return new Promise((resolve, reject) => {
      const check = () => {
        let v;
        try {
          v = pred(this);
        } catch (e) {
          cleanup();
          return reject(e);
        }
        if (v) {
          cleanup();
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`raw ws: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        const i = this.waiters.indexOf(check);
        if (i >= 0) this.waiters.splice(i, 1);
      };
      this.waiters.push(check);
      check();
    });
  }

  // Waits for a JSON text frame matching pred that has not been returned before.
  async nextJson(pred, timeoutMs, what = 'frame') {
    this._taken ??= new Set();
    return this.waitFor(() => {
      const texts = this.frames.filter((f) => f.opcode === OP.text);
      for (const f of texts) {
        if (this._taken.has(f)) continue;
        let obj;
        try {
          obj = JSON.parse(f.payload.toString('utf8'));
        } catch {
          continue;
        }
        if (pred(obj)) {
          this._taken.add(f);
          return obj;
        }
      }
      return null;
    }, timeoutMs, what);
  }

  // Resolves { closeFrame, ended } once a close frame arrived or TCP ended.
  waitClosed(timeoutMs, what = 'the connection to close') {
    return this.waitFor((c) => (c.closeFrame || c.ended ? { closeFrame: c.closeFrame, ended: c.ended } : null), timeoutMs, what).catch((e) => {
      const last = this.json().slice(-3).map((f) => JSON.stringify(f).slice(0, 200));
      throw new Error(`${e.message}; last frames received: ${last.join(' | ') || 'none'}`);
    });
  }

  pause() {
    this.sock.pause();
  }

  resume() {
    this.sock.resume();
  }

  destroy() {
    if (this.sock && !this.sock.destroyed) this.sock.destroy();
  }
}
