// A deliberately minimal WebSocket client over net.Socket, for what a well-behaved library will not do:
// send malformed frames (invalid UTF-8 in a text frame), never answer PINGs, or stop reading altogether.
// Main flows use npm `ws`; this is only for misbehaving peers.
import net from 'node:net';
import zlib from 'node:zlib';
import { randomBytes, createHash } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP = { cont: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };

// The bytes of one client frame. Masked unless mask:false; rsv sets RSV1-3 (4 = RSV1, 2 = RSV2,
// 1 = RSV3); len overrides the length field (a header that lies about its payload); maskKey fixes the
// key (4 zero bytes: the payload goes out as it is, so more of it can follow in later writes).
export function encodeFrame(opcode, payload = Buffer.alloc(0), { fin = true, mask = true, rsv = 0, len, maskKey } = {}) {
  payload = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const n = len ?? payload.length;
  let header;
  if (n < 126) {
    header = Buffer.alloc(2);
    header[1] = n;
  } else if (n < 65536) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(n, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(n), 2);
  }
  header[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  let body = payload;
  if (mask) {
    header[1] |= 0x80;
    const key = maskKey ?? randomBytes(4);
    body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
    header = Buffer.concat([header, key]);
  }
  return Buffer.concat([header, body]);
}

// permessage-deflate (RFC 7692 7.2.1): a raw deflate stream flushed with Z_SYNC_FLUSH, without
// its trailing 00 00 ff ff. Each message is its own stream, valid with or without context takeover.
export function deflateMessage(buf) {
  const out = zlib.deflateRawSync(Buffer.isBuffer(buf) ? buf : Buffer.from(buf, 'utf8'), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

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
    this.autoClose = false; // answer the peer's close frame with the same code, as RFC 6455 5.5.1 asks
    this.extensions = ''; // Sec-WebSocket-Extensions of the 101 answer
    this._buf = Buffer.alloc(0);
    this._endWaiters = [];
  }

  // Opens a TCP connection, performs the HTTP upgrade, resolves once 101 arrived.
  // Rejects with err.status / err.body when the server answers something else.
  // version: the Sec-WebSocket-Version sent (null: none).
  // autoClose: echo the peer's close frame. deflate: offer permessage-deflate (without context
  // takeover both ways, so each compressed message from the edge inflates on its own).
  static async connect({ host = '127.0.0.1', port, path = '/ws', headers = {}, autoPong = true, autoClose = false, deflate = false, timeoutMs = 5000, version = '13' }) {
    const c = new RawWs();
    c.autoPong = autoPong;
    c.autoClose = autoClose;
    if (deflate) headers = { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_no_context_takeover; server_no_context_takeover', ...headers };
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
        this.extensions = /sec-websocket-extensions:\s*([^\r\n]*)/i.exec(text)?.[1] ?? '';
        done = true;
        clearTimeout(timer);
        sock.setNoDelay(true);
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
      const rsv1 = (b[0] & 0x40) !== 0;
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
      // a compressed message from the edge (unfragmented: the replies here are small)
      // (the stream is never finished: a message ends with a sync flush, so no BFINAL block)
      if (rsv1 && fin) payload = zlib.inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      this._onFrame({ fin, opcode, payload, masked, rsv1 });
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
      if (this.autoClose && !this.ended && !this.closeSent) this.sendFrame(OP.close, f.payload.subarray(0, 2));
    }
    this.frames.push(f);
    this._wake();
  }

  _wake() {
    for (const w of this.waiters.slice()) w();
  }

  // Sends one frame (see encodeFrame for the options).
  sendFrame(opcode, payload = Buffer.alloc(0), opts = {}) {
    if (opcode === OP.close) this.closeSent = true;
    return this.sock.write(encodeFrame(opcode, payload, opts));
  }

  // Writes bytes in pieces of `pieces` bytes (a number, or an array of sizes, the last one repeated),
  // each its own TCP write with gapMs between them, so the edge reads a frame in parts.
  async writeSplit(bytes, pieces, gapMs = 2) {
    const sizes = Array.isArray(pieces) ? pieces : [pieces];
    for (let off = 0, i = 0; off < bytes.length; i++) {
      const n = sizes[Math.min(i, sizes.length - 1)];
      this.sock.write(bytes.subarray(off, off + n));
      off += n;
      if (off < bytes.length) await new Promise((r) => setTimeout(r, gapMs));
    }
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
