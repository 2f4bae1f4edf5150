// mqedge.js - a small browser client for an mqedge edge (protocol v1, docs/PROTOCOL.md).
// An ES module with no build step and no dependencies; it uses only WebSocket, timers and
// Math.random, so it also runs in Node (pass `WebSocket` from npm `ws` in the options).
//
//   import { MqEdge } from './mqedge.js';
//   const edge = new MqEdge({ url: 'wss://edge.example/ws', getToken: async () => fetchToken() });
//   edge.on('message', (m) => console.log(m.room, m.from, m.data));
//   edge.on('unread', (n) => badge.textContent = n);
//   edge.connect();
//   await edge.join('lobby');
//   await edge.publish('lobby', { text: 'hi' });
//
// What it does for you:
// - connects with the token in `?token=`, reconnects with capped exponential backoff and full
//   jitter, and re-joins rooms / re-watches devices after every reconnect;
// - application heartbeat (`ping` op): a connection that stops answering is dropped and redialled;
// - refreshes the token before `exp` (from `welcome`) with `{"op":"refresh"}` and `getToken`;
// - every request carries a `ref` and its promise settles on the one `ok` / `error` / `pong` /
//   `inbox` / `history` reply the edge sends for it (rejects with MqEdgeError carrying the edge's `code`);
// - keeps the inbox in step: `welcome.unread`, the pushed backlog, live `notify`, `read` events from
//   other tabs or edges, paging with `inbox`, marking read, mute settings;
// - never emits the same message, telemetry sample or notification twice (bounded id memory);
// - history rooms (PROTOCOL.md section 10): remembers each joined room's position {epoch, offset}
//   (from the sub `ok` and from every delivered message), re-joins after a reconnect with
//   `since` so the edge replays what was missed, and tells the application whether that worked;
// - presence (PROTOCOL.md section 9): join/leave events and the member list;
// - rpc (PROTOCOL.md section 11): `await edge.rpc('orders.get', {id: 7}, {timeout: 10000})` resolves
//   the backend's answer; errors carry the edge's or the backend's `code`.
//
// Resume after a reconnect, for a history room:
//
//   edge.on('message', (m) => show(m));           // missed messages come here first, in order, once
//   edge.on('resume', (r) => {                    // then the outcome, once per room and reconnect
//     if (!r.recovered) reloadFromApp(r.room);    // r.reason: too_old | epoch | ahead | no_history | no_position
//   });
//   await edge.join('chat-1', { presence: true }); // resolves {room, epoch, offset, history}
//   const page = await edge.history('chat-1', { limit: 50 }); // {room, epoch, msgs (oldest first), more}
//   const who = await edge.presence('chat-1');    // {room, users, conns, members}
//   edge.on('join', (j) => ...); edge.on('leave', (l) => ...);   // {room, user}
//
// A message whose offset is not past the room's known position in the same epoch is dropped (it was
// delivered already, or it lies inside a gap the edge said it could not fill). After
// `recovered: false` the position is the `ok`'s: the application reloads the room (e.g. with
// `history`) and later messages continue from there. Rooms that keep no history carry no
// position: they are re-joined with a plain `sub` and get no `resume` event.

/** Error for a request the edge refused (`code` is the edge's error code) or a client-side failure
 * (`not_connected`, `disconnected`, `timeout`, `closed`). */
export class MqEdgeError extends Error {
  /** @param {string} code @param {string} message @param {object} [frame] the edge's error frame */
  constructor(code, message, frame) {
    super(`${code}: ${message}`);
    this.name = 'MqEdgeError';
    this.code = code;
    this.frame = frame;
  }
}

/** A set of recently seen ids with a fixed capacity (oldest forgotten first). */
class RecentIds {
  constructor(cap) { this.cap = cap; this.set = new Set(); }
  /** @returns {boolean} true when id was new (and is now remembered) */
  add(id) {
    if (id == null || this.set.has(id)) return id == null;
    this.set.add(id);
    if (this.set.size > this.cap) this.set.delete(this.set.values().next().value);
    return true;
  }
}

/** Reads `exp` from a JWT without verifying it (the edge verifies); null when absent/unreadable. */
export function tokenExp(token) {
  try {
    const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const exp = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))).exp;
    return typeof exp === 'number' ? exp : null;
  } catch {
    return null;
  }
}

const DEFAULTS = {
  backoffBaseMs: 500,      // first reconnect waits up to this long (full jitter: random in [0, d])
  backoffMaxMs: 15000,     // cap of the exponential backoff
  stableMs: 10000,         // a connection open this long resets the backoff
  heartbeatMs: 15000,      // `ping` every this often while open
  heartbeatTimeoutMs: 10000, // no `pong` within this → the connection is considered dead
  requestTimeoutMs: 10000, // a request waits this long for the connection and then for its reply
  refreshMarginS: 60,      // refresh the token this long before `exp` (at most 20% of its lifetime)
  dedupeSize: 2000,        // message / telemetry / notification ids remembered
  maxNotifications: 500,   // notifications kept in `notifications` (oldest dropped)
  protocols: ['mqedge.v1'],
};

/**
 * A connection to one edge that survives drops. Events (subscribe with `on`):
 * - `connect` (welcome frame) - connected and authenticated; rooms/devices are being re-joined
 * - `disconnect` ({code, reason, reconnectInMs|null}) - the socket is gone
 * - `state` ('connecting'|'open'|'reconnecting'|'closed')
 * - `message` (msg frame) - a room message (`room`) or direct message (`to`), each id once; in a
 *   history room also each position once, in order (the frame carries `epoch`, `offset`)
 * - `resume` ({room, recovered, reason, epoch, offset, missed, since}) - a history room was
 *   re-joined after a reconnect: `recovered` true means the `missed` messages were just emitted
 *   (before this event) and nothing is lost; false means nothing was replayed and the room must be
 *   reloaded (`reason`: the edge's too_old|epoch|ahead|no_history, or no_position when the client
 *   had none to offer); `since` is the position offered (null with no_position)
 * - `join` / `leave` ({room, user}) - presence events of rooms joined with {presence: true}
 * - `telemetry` (telemetry frame) - from a watched device, each id once
 * - `cmd` (cmd frame) - device connections only
 * - `notify` (notification, with `read` and `backlog`) - each notification id once
 * - `read` ({ids}|{all,ts}) - notifications marked read (here, in another tab, or on another edge)
 * - `unread` (number) - the unread count changed
 * - `backlog` ({count, more}) - the unread backlog after connect has been delivered
 * - `resync` ({reason, since, ts, unread}) - the edge lost its broker sessions (a failover to another
 *   broker, PROTOCOL.md section 12) while this connection stayed open: between `since` and `ts` it may
 *   have missed room messages without history, direct messages and notifications; reload what the
 *   application shows from its own source (the unread count is taken from the frame)
 * - `error` (MqEdgeError|Error) - anything that went wrong outside a request's own promise
 */
export class MqEdge {
  /**
   * @param {object} opts
   * @param {string} opts.url edge WebSocket URL, e.g. `wss://host/ws` (the token is appended)
   * @param {string} [opts.token] a fixed token (cannot be refreshed)
   * @param {() => Promise<string>} [opts.getToken] returns a fresh token; called before every
   *   connection attempt and before `exp` to refresh
   * @param {typeof WebSocket} [opts.WebSocket] WebSocket constructor (default: the global one)
   * Other options (numbers, see DEFAULTS): backoffBaseMs, backoffMaxMs, stableMs, heartbeatMs,
   * heartbeatTimeoutMs, requestTimeoutMs, refreshMarginS, dedupeSize, maxNotifications.
   */
  constructor(opts) {
    if (!opts || !opts.url) throw new TypeError('MqEdge: url is required');
    if (!opts.token && !opts.getToken) throw new TypeError('MqEdge: token or getToken is required');
    this.opts = { ...DEFAULTS, ...opts };
    this.WS = opts.WebSocket || globalThis.WebSocket;
    /** @type {'idle'|'connecting'|'open'|'reconnecting'|'closed'} */
    this.state = 'idle';
    /** The last welcome frame (user, session, edge, exp, limits, unread). */
    this.welcome = null;
    /** Rooms and devices to be subscribed on every connection. */
    this.rooms = new Set();
    /** Per joined room: {presence, pos: {epoch, offset}|null, conn, resuming}. */
    this._roomState = new Map();
    /** Counts welcomes: a room subscribed on an earlier connection is resumed on this one. */
    this._conn = 0;
    this.devices = new Set();
    /** Known notifications by id, newest last in insertion order (bounded). */
    this.notifications = new Map();
    /** Unread notifications for this user, as the edge counts them. */
    this.unread = 0;
    this._handlers = new Map();
    this._pending = new Map(); // ref → { resolve, reject }
    this._subs = new Map(); // 'room:lobby' → the sub request in flight (one at a time per target)
    this._seq = 0;
    this._ws = null;
    this._attempt = 0;
    this._timers = {};
    this._seenMsgs = new RecentIds(this.opts.dedupeSize);
    this._seenNotes = new RecentIds(this.opts.dedupeSize);
    this._gaveUp = new RecentIds(100); // refs whose request timed out here: a late reply is no error
    this._inBacklog = false;
    this._openWaiters = [];
  }

  // ---- events ----------------------------------------------------------------------------------

  /** Adds a listener; returns a function that removes it. */
  on(event, fn) {
    if (!this._handlers.has(event)) this._handlers.set(event, new Set());
    this._handlers.get(event).add(fn);
    return () => this.off(event, fn);
  }

  /** Removes a listener added with `on`. */
  off(event, fn) {
    this._handlers.get(event)?.delete(fn);
  }

  _emit(event, arg) {
    for (const fn of [...(this._handlers.get(event) || [])]) {
      try {
        fn(arg);
      } catch (e) {
        if (event !== 'error') this._emit('error', e);
        else console.error(e); // eslint-disable-line no-console
      }
    }
  }

  _setState(s) {
    if (this.state !== s) {
      this.state = s;
      this._emit('state', s);
    }
  }

  // ---- connection ------------------------------------------------------------------------------

  /** Starts connecting (and keeps reconnecting until `close()`). */
  connect() {
    if (this.state === 'idle' || this.state === 'closed') {
      this._closedByUser = false;
      this._dial();
    }
    return this;
  }

  /** Closes for good: no reconnect; pending requests reject with `closed`. */
  close() {
    this._closedByUser = true;
    this._clearTimers();
    this._drop(1000, 'client closed', null);
    this._setState('closed');
    for (const w of this._openWaiters.splice(0)) w.reject(new MqEdgeError('closed', 'client closed'));
  }

  async _dial() {
    this._setState(this._attempt ? 'reconnecting' : 'connecting');
    let token;
    try {
      token = this.opts.getToken ? await this.opts.getToken() : this.opts.token;
    } catch (e) {
      this._emit('error', e);
      return this._scheduleReconnect(null, 'getToken failed');
    }
    if (this._closedByUser) return;
    const exp = tokenExp(token);
    if (!this.opts.getToken && exp !== null && exp * 1000 <= Date.now()) {
      // A browser cannot read the HTTP 401; with a fixed token, retrying cannot help.
      this._emit('error', new MqEdgeError('token_expired', 'the token has expired; reconnecting needs a new one'));
      return this._setState('closed');
    }
    const url = this.opts.url + (this.opts.url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token);
    let ws;
    try {
      ws = new this.WS(url, this.opts.protocols);
    } catch (e) {
      this._emit('error', e);
      return this._scheduleReconnect(null, 'bad url');
    }
    this._ws = ws;
    this._token = token;
    ws.onmessage = (ev) => this._onFrame(ev.data);
    ws.onclose = (ev) => {
      if (this._ws === ws) this._drop(ev.code, ev.reason, ev.code);
    };
    ws.onerror = () => {}; // the close event follows and carries what we can know
    // No welcome in time (a black-holed TCP connect, a stuck proxy): give up on this attempt.
    this._timer('welcome', this.opts.requestTimeoutMs, () => {
      if (this._ws === ws) this._drop(4000, 'connect timeout', 4000);
    });
  }

  /** Forgets the current socket: stops timers, fails pending requests, schedules a reconnect. */
  _drop(code, reason, reconnectCode) {
    const ws = this._ws;
    if (!ws) return;
    this._ws = null;
    ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      if (ws.readyState <= 1) ws.close(code === 1000 ? 1000 : 4000, String(reason).slice(0, 100));
    } catch {
      /* already closing */
    }
    for (const k of ['welcome', 'heartbeat', 'pong', 'refresh', 'stable', 'resync']) this._clearTimer(k);
    const wasOpen = !!this.welcome && this.state === 'open';
    for (const [, p] of this._pending) p.reject(new MqEdgeError('disconnected', `connection lost (${code})`));
    this._pending.clear();
    const delay = this._closedByUser ? null : this._scheduleReconnect(reconnectCode, reason);
    if (wasOpen || delay !== null) this._emit('disconnect', { code, reason, reconnectInMs: delay });
  }

  /** Full-jitter exponential backoff; returns the chosen delay or null when not reconnecting. */
  _scheduleReconnect(code, reason) {
    if (this._closedByUser) return null;
    if (code === 4001 && !this.opts.getToken) {
      this._emit('error', new MqEdgeError('token_expired', 'the token expired (close 4001) and cannot be refreshed'));
      this._setState('closed');
      return null;
    }
    const cap = Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** Math.min(this._attempt, 20));
    // 1001 = the edge is going away on purpose: come back soon (spread out), elsewhere if balanced.
    const delay = Math.floor(Math.random() * (code === 1001 ? Math.min(cap, 1000) : cap));
    this._attempt++;
    this._setState('reconnecting');
    this._timer('reconnect', delay, () => this._dial());
    return delay;
  }

  // ---- frames ----------------------------------------------------------------------------------

  _onFrame(text) {
    let f;
    try {
      f = JSON.parse(text);
    } catch {
      return this._emit('error', new MqEdgeError('bad_frame', 'the edge sent a frame that is not JSON'));
    }
    switch (f.op) {
      case 'welcome': return this._onWelcome(f);
      case 'ok': case 'pong': case 'inbox': case 'history': return this._settle(f, null);
      case 'error': return this._settle(f, new MqEdgeError(f.code, f.message, f));
      case 'msg': return this._onMsg(f);
      case 'join': case 'leave': {
        const { op, ...ev } = f; // eslint-disable-line no-unused-vars
        return this._emit(f.op, ev);
      }
      case 'telemetry':
        if (this._seenMsgs.add(f.id)) this._emit('telemetry', f);
        return;
      case 'cmd':
        if (this._seenMsgs.add(f.id)) this._emit('cmd', f);
        return;
      case 'notify': return this._onNotify(f);
      case 'backlog':
        this._inBacklog = false;
        return this._emit('backlog', { count: f.count, more: f.more });
      case 'read': return this._onRead(f);
      case 'resync': {
        const { op, ...ev } = f; // eslint-disable-line no-unused-vars
        this._setUnread(f.unread);
        return this._emit('resync', ev);
      }
      default: return undefined; // newer edges may send more; ignore what we do not know
    }
  }

  /** A delivered message: dropped when its position is not past the room's known one (same epoch)
   * or its id was seen; otherwise the position moves to it and it is emitted. */
  _onMsg(f) {
    const st = f.room !== undefined ? this._roomState.get(f.room) : undefined;
    if (st && typeof f.epoch === 'string' && Number.isSafeInteger(f.offset)) {
      if (st.pos && st.pos.epoch === f.epoch && f.offset <= st.pos.offset) return;
      st.pos = { epoch: f.epoch, offset: f.offset };
    }
    if (!this._seenMsgs.add(f.id)) return;
    if (st && st.resuming) {
      st.resuming.missed++;
      if (st.pos) st.resuming.last = { ...st.pos };
    }
    this._emit('message', f);
  }

  _onWelcome(f) {
    this._clearTimer('welcome');
    this._conn++;
    this.welcome = f;
    this._setState('open');
    this._timer('stable', this.opts.stableMs, () => { this._attempt = 0; });
    this._scheduleHeartbeat();
    this._scheduleRefresh(f.exp);
    // Backlog notifications that follow are already counted in welcome.unread.
    this._inBacklog = typeof f.unread === 'number' && f.unread > 0;
    if (typeof f.unread === 'number') this._setUnread(f.unread);
    for (const w of this._openWaiters.splice(0)) w.resolve();
    for (const room of this.rooms) this._resub('room', room, this.rooms);
    for (const device of this.devices) this._resub('device', device, this.devices);
    this._emit('connect', f);
  }

  /** Re-subscribes after a reconnect, unless a join()/watch() call is already doing it. */
  _resub(kind, id, set) {
    if (this._subs.has(`${kind}:${id}`)) return;
    this._subscribe(kind, id).catch((e) => {
      if (e.code !== 'disconnected') {
        set.delete(id); // forbidden / invalid now (e.g. a refreshed token narrowed the rights)
        if (kind === 'room') this._roomState.delete(id);
        this._emit('error', e);
      }
    });
  }

  /** One `sub` per target at a time: a join() made while connecting and the re-subscription on
   * welcome share one request. */
  _subscribe(kind, id) {
    const key = `${kind}:${id}`;
    let p = this._subs.get(key);
    if (!p) {
      p = kind === 'room' ? this._subRoom(id) : this.request({ op: 'sub', [kind]: id });
      const forget = () => { if (this._subs.get(key) === p) this._subs.delete(key); };
      p.then(forget, forget);
      this._subs.set(key, p);
    }
    return p;
  }

  /** Subscribes a room; the frame is built when it is sent: with `presence` as joined, and with
   * `since` when the room was subscribed on an earlier connection and its position is known.
   * Resolves the join result (see join()); emits `resume` for a re-subscription. */
  async _subRoom(room) {
    const st = this._roomState.get(room) ?? this._newRoomState(room, false);
    let sent = null;
    const build = () => {
      sent = { op: 'sub', room };
      if (st.presence) sent.presence = true;
      sent.resumed = st.conn !== 0 && st.conn !== this._conn; // joined on an earlier connection
      if (sent.resumed && st.pos) sent.since = { epoch: st.pos.epoch, offset: st.pos.offset };
      st.resuming = { missed: 0, last: null }; // what arrives until the ok
      const { resumed, ...frame } = sent; // eslint-disable-line no-unused-vars
      return frame;
    };
    // The ok is taken in when it arrives (not a microtask later), so `resume` comes before any
    // message that follows it, even when several frames arrive in one read.
    try {
      return await this._request(build, {}, (ok) => this._roomOk(room, st, sent, ok));
    } catch (e) {
      st.resuming = null;
      // An edge without history may refuse `since`: subscribe plainly; the room is not resumable.
      if (!(e.code === 'bad_request' && sent?.since && this._roomState.get(room) === st)) throw e;
      const offered = sent.since;
      st.pos = null;
      return this._request(build, {}, (ok) => this._roomOk(room, st, { ...sent, since: offered }, { ...ok, recovered: false, reason: 'no_history' }));
    }
  }

  _newRoomState(room, presence) {
    const st = { presence, pos: null, conn: 0, resuming: null };
    this._roomState.set(room, st);
    return st;
  }

  _roomOk(room, st, sent, ok) {
    const during = st.resuming ?? { missed: 0, last: null };
    st.resuming = null;
    const hasPos = typeof ok.epoch === 'string' && Number.isSafeInteger(ok.offset);
    const result = { room, history: hasPos, epoch: hasPos ? ok.epoch : null, offset: hasPos ? ok.offset : null };
    if (this._roomState.get(room) !== st) return result; // left (or left and joined again) meanwhile
    st.conn = this._conn;
    // The ok's position, unless a message delivered since the sub went out is already past it.
    const last = during.last;
    if (!hasPos) st.pos = null;
    else if (last && last.epoch === ok.epoch && last.offset > ok.offset) st.pos = { ...last };
    else st.pos = { epoch: ok.epoch, offset: ok.offset };
    const missed = during.missed;
    if (sent.since) {
      const recovered = ok.recovered === true;
      Object.assign(result, { recovered, reason: recovered ? null : (ok.reason ?? 'no_history'), missed: recovered ? missed : 0, since: sent.since });
    } else if (sent.resumed && hasPos) {
      Object.assign(result, { recovered: false, reason: 'no_position', missed: 0, since: null });
    } else {
      return result;
    }
    if (st.pos) Object.assign(result, { epoch: st.pos.epoch, offset: st.pos.offset });
    this._emit('resume', { ...result });
    return result;
  }

  _onNotify(f) {
    const { op, ...note } = f; // eslint-disable-line no-unused-vars
    const fresh = this._seenNotes.add(note.id);
    const known = this.notifications.get(note.id);
    if (!fresh && known) {
      known.read = note.read; // the edge's view wins (e.g. re-pushed after a reconnect)
      return;
    }
    note.backlog = this._inBacklog;
    this._remember(note);
    if (fresh && !note.read && !this._inBacklog) this._setUnread(this.unread + 1);
    if (fresh) this._emit('notify', note);
  }

  _remember(note) {
    this.notifications.delete(note.id);
    this.notifications.set(note.id, note);
    while (this.notifications.size > this.opts.maxNotifications) {
      this.notifications.delete(this.notifications.keys().next().value);
    }
  }

  _onRead(f) {
    let changed = 0;
    let unknown = false;
    if (f.all) {
      for (const n of this.notifications.values()) {
        if (!n.read && n.ts <= f.ts) { n.read = true; changed++; }
      }
      unknown = true; // unread ones we have not loaded may be covered too
    } else {
      for (const id of f.ids || []) {
        const n = this.notifications.get(id);
        if (!n) unknown = true;
        else if (!n.read) { n.read = true; changed++; }
      }
    }
    if (changed) this._setUnread(Math.max(0, this.unread - changed));
    this._emit('read', f.all ? { all: true, ts: f.ts } : { ids: f.ids || [] });
    if (unknown && this.unread > 0) this._resyncUnread();
  }

  /** Asks the edge for the exact unread count (debounced): `inbox` with limit 1 carries it. */
  _resyncUnread() {
    this._timer('resync', 200, () => {
      this.request({ op: 'inbox', limit: 1 }).then((r) => this._setUnread(r.unread), () => {});
    });
  }

  _setUnread(n) {
    if (typeof n === 'number' && n !== this.unread) {
      this.unread = n;
      this._emit('unread', n);
    }
  }

  // ---- requests --------------------------------------------------------------------------------

  /**
   * Sends one request frame and resolves with its reply (`ok`, `pong`, `inbox` or `history` frame); rejects
   * with MqEdgeError (the edge's `error` code, or not_connected/timeout/disconnected/closed).
   * Waits for the connection (up to requestTimeoutMs) when it is not open yet.
   * @param {object} frame e.g. {op:'pub', room:'lobby', data:{...}}; `ref` is added
   */
  request(frame, opts) {
    return this._request(() => frame, opts);
  }

  /** request() with the frame built by build() just before it is sent; onReply(reply), when given,
   * runs as the reply frame is handled and its result is what the promise resolves. */
  async _request(build, { timeoutMs = this.opts.requestTimeoutMs } = {}, onReply = null) {
    const started = Date.now();
    if (this.state !== 'open') await this._whenOpen(timeoutMs);
    if (!this._ws || this.state !== 'open') throw new MqEdgeError('disconnected', 'connection lost before sending');
    const ref = `r${++this._seq}`;
    const frame = build();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(ref);
        this._gaveUp.add(ref);
        reject(new MqEdgeError('timeout', `no reply to ${frame.op} within ${timeoutMs} ms`));
      }, Math.max(1, timeoutMs - (Date.now() - started)));
      this._pending.set(ref, {
        onReply,
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this._ws.send(JSON.stringify({ ...frame, ref }));
    });
  }

  _whenOpen(timeoutMs) {
    if (this._closedByUser || this.state === 'idle' || this.state === 'closed') {
      return Promise.reject(new MqEdgeError('not_connected', 'call connect() first'));
    }
    return new Promise((resolve, reject) => {
      const w = {
        resolve: () => { clearTimeout(timer); resolve(); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      const timer = setTimeout(() => {
        this._openWaiters.splice(this._openWaiters.indexOf(w), 1);
        reject(new MqEdgeError('not_connected', `not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      this._openWaiters.push(w);
    });
  }

  _settle(f, err) {
    const p = f.ref !== undefined ? this._pending.get(String(f.ref)) : undefined;
    if (!p) {
      // an error for no request of ours (should not happen), unless we stopped waiting for it
      if (err && !this._gaveUp.set.has(String(f.ref))) this._emit('error', err);
      return;
    }
    this._pending.delete(String(f.ref));
    if (err) return p.reject(err);
    let v = f;
    if (p.onReply) {
      try {
        v = p.onReply(f);
      } catch (e) {
        return p.reject(e);
      }
    }
    return p.resolve(v);
  }

  // ---- rooms, messages, devices ----------------------------------------------------------------

  /**
   * Joins a room (kept across reconnects, resumed from its position in a history room).
   * Resolves {room, history, epoch, offset}: `history` true when the room keeps history, with the
   * position the client is at now (null otherwise); when this join completed a re-subscription
   * after a reconnect, also {recovered, reason, missed, since} as in the `resume` event.
   * @param {string} room
   * @param {{presence?: boolean}} [opts] presence: also get `join`/`leave` events of the room
   */
  async join(room, { presence = false } = {}) {
    this.rooms.add(room);
    let st = this._roomState.get(room);
    const changed = !!st && st.presence !== !!presence;
    if (!st) st = this._newRoomState(room, !!presence);
    st.presence = !!presence;
    try {
      const inFlight = this._subs.get(`room:${room}`);
      // A sub already on its way without the wanted presence: let it finish, then send another.
      if (changed && inFlight) await inFlight.catch(() => {});
      return await this._subscribe('room', room);
    } catch (e) {
      if (e.code !== 'disconnected' && this._roomState.get(room) === st) {
        this.rooms.delete(room);
        this._roomState.delete(room);
      }
      throw e;
    }
  }

  /** Leaves a room (and forgets its position). */
  async leave(room) {
    this.rooms.delete(room);
    this._roomState.delete(room);
    if (this.state === 'open') await this.request({ op: 'unsub', room });
  }

  /** The position {epoch, offset} of the last message seen in a history room, or null. */
  position(room) {
    const pos = this._roomState.get(room)?.pos;
    return pos ? { ...pos } : null;
  }

  /**
   * A page of a history room's recent messages (the room must be joined): resolves {room, epoch,
   * msgs (msg frames, oldest first), more}. `before`: only messages with offset < before; `limit`
   * 1..200 (edge default 50). The messages are not emitted as `message` events; some may also have
   * been (or be about to be) emitted live, so merge by `id`. Errors: bad_request (the room keeps no
   * history), not_subscribed.
   */
  async history(room, { limit, before } = {}) {
    const frame = { op: 'history', room };
    if (limit !== undefined) frame.limit = limit;
    if (before !== undefined) frame.before = before;
    const r = await this.request(frame);
    return { room: r.room ?? room, epoch: r.epoch, msgs: r.msgs ?? [], more: !!r.more };
  }

  /**
   * Who is in a presence room (the room must be joined): resolves {room, users, conns, members}
   * (`members`: [{user, conns, info?}], absent when an edge reports counts only). Errors:
   * bad_request (the room keeps no presence), not_subscribed.
   */
  async presence(room) {
    const { op, ref, ...r } = await this.request({ op: 'presence', room }); // eslint-disable-line no-unused-vars
    return r;
  }

  /** Publishes data to a room; resolves {id, ts} once the broker has it. */
  async publish(room, data) {
    const r = await this.request({ op: 'pub', room, data });
    return { id: r.id, ts: r.ts };
  }

  /** Sends a direct message to a user; resolves {id, ts}. */
  async send(to, data) {
    const r = await this.request({ op: 'send', to, data });
    return { id: r.id, ts: r.ts };
  }

  /** Watches a device's telemetry (kept across reconnects). */
  async watch(device) {
    this.devices.add(device);
    try {
      await this._subscribe('device', device);
    } catch (e) {
      if (e.code !== 'disconnected') this.devices.delete(device);
      throw e;
    }
  }

  /** Stops watching a device. */
  async unwatch(device) {
    this.devices.delete(device);
    if (this.state === 'open') await this.request({ op: 'unsub', device });
  }

  /** Sends a command to a device; resolves {id, ts} (the device sees this id in the envelope). */
  async command(device, data) {
    const r = await this.request({ op: 'cmd', device, data });
    return { id: r.id, ts: r.ts };
  }

  /**
   * Calls a backend method (PROTOCOL.md section 11; the token's `rpc` claim must allow it) and
   * resolves the backend's answer (the `ok`'s `data`). Rejects with MqEdgeError whose `code` is the
   * edge's (`timeout`, `no_backend`, `forbidden`, `unavailable`, `too_many_requests`, `bad_reply`) or
   * the backend's own (e.g. `bad_args`); `timeout` also when no reply came within `timeout` ms
   * (default 30000; the wait for the connection counts), `disconnected` when the socket closed first:
   * the call is not repeated after a reconnect (the backend may have done it), retry if it is safe.
   * @param {string} method e.g. 'orders.get'
   * @param {*} [data] any JSON value (absent = null)
   * @param {{timeout?: number}} [opts] client-side limit in ms: set it above the edge's timeout for
   *   the method so the edge's own `timeout` (with its message) comes first
   */
  async rpc(method, data, { timeout = 30000 } = {}) {
    const frame = { op: 'rpc', method };
    if (data !== undefined) frame.data = data;
    const r = await this.request(frame, { timeoutMs: timeout });
    return r.data === undefined ? null : r.data;
  }

  /** Application round trip; resolves the round-trip time in ms. */
  async ping() {
    const t0 = Date.now();
    await this.request({ op: 'ping' });
    return Date.now() - t0;
  }

  // ---- inbox -----------------------------------------------------------------------------------

  /**
   * One page of the inbox, newest first: {items, unread, more}. `before` is the id of the oldest
   * notification already seen. Items are remembered (and count as seen) but not emitted as `notify`.
   */
  async inbox({ before, limit = 50 } = {}) {
    const frame = { op: 'inbox', limit };
    if (before) frame.before = before;
    const r = await this.request(frame);
    for (const it of r.items) {
      this._seenNotes.add(it.id);
      const known = this.notifications.get(it.id);
      if (known) known.read = it.read;
      else if (this.notifications.size < this.opts.maxNotifications) this.notifications.set(it.id, { ...it });
    }
    this._setUnread(r.unread);
    return { items: r.items, unread: r.unread, more: r.more };
  }

  /** Marks notifications read (here and, through the broker, on every edge). Resolves unread. */
  async markRead(ids) {
    const r = await this.request({ op: 'read', ids });
    for (const id of ids) {
      const n = this.notifications.get(id);
      if (n) n.read = true;
    }
    this._setUnread(r.unread);
    return r.unread;
  }

  /** Marks everything read. Resolves unread (0 unless newer ones arrived meanwhile). */
  async markAllRead() {
    const r = await this.request({ op: 'read', all: true });
    for (const n of this.notifications.values()) n.read = true;
    this._setUnread(r.unread);
    return r.unread;
  }

  /** Reads (no argument) or replaces the mute list, e.g. ['remind:liked', 'announcement']. */
  async settings(mute) {
    const r = await this.request(mute === undefined ? { op: 'settings' } : { op: 'settings', mute });
    return r.mute;
  }

  // ---- heartbeat and token refresh -------------------------------------------------------------

  _scheduleHeartbeat() {
    this._timer('heartbeat', this.opts.heartbeatMs, () => {
      const ws = this._ws;
      this._timer('pong', this.opts.heartbeatTimeoutMs, () => {
        if (this._ws === ws) this._drop(4000, 'heartbeat timeout', 4000);
      });
      this.request({ op: 'ping' }, { timeoutMs: this.opts.heartbeatTimeoutMs + 1000 }).then(
        () => { this._clearTimer('pong'); this._scheduleHeartbeat(); },
        () => {}, // the pong timer or the close handles it
      );
    });
  }

  _scheduleRefresh(exp) {
    this._clearTimer('refresh');
    if (typeof exp !== 'number' || !this.opts.getToken) return;
    const left = exp * 1000 - Date.now();
    const margin = Math.min(this.opts.refreshMarginS * 1000, left * 0.2);
    this._timer('refresh', Math.max(1000, left - margin), () => this.refresh().catch((e) => {
      this._emit('error', e);
      if (e.code !== 'disconnected') this._timer('refresh', 5000, () => this._scheduleRefresh(exp));
    }));
  }

  /** Gets a new token with getToken and sends it with `refresh`; resolves the new exp. */
  async refresh() {
    const token = await this.opts.getToken();
    const r = await this.request({ op: 'refresh', token });
    this._token = token;
    if (this.welcome) this.welcome.exp = r.exp;
    this._scheduleRefresh(r.exp);
    return r.exp;
  }

  // ---- timers ----------------------------------------------------------------------------------

  _timer(name, ms, fn) {
    this._clearTimer(name);
    this._timers[name] = setTimeout(() => { delete this._timers[name]; fn(); }, ms);
  }

  _clearTimer(name) {
    if (this._timers[name]) clearTimeout(this._timers[name]);
    delete this._timers[name];
  }

  _clearTimers() {
    for (const k of Object.keys(this._timers)) this._clearTimer(k);
  }
}
