// Soak driver process (forked by soak.mjs, one per slice of the clients, so each has its own fd table
// and event loop). Owns its clients: their connections, churn, reconnects and resumes, what they send
// (room pubs and direct messages, each numbered per sender) and what they check as they receive
// (per-sender sequence, room offsets, notifications). It judges nothing that needs another process's
// data: at the end it hands its raw accounts to soak.mjs, which matches senders against receivers.
//
// IPC from the parent: {cmd:'init', clients, edges, opts} → {type:'ready'} once every client has joined
// its room; {cmd:'traffic'} starts sending and churn; {cmd:'quiesce'} stops both and answers
// {type:'quiet'} once every client is connected, resumed and has no request in flight; {cmd:'report'}
// → {type:'report', ...}. Every two seconds it sends {type:'stats'}.
import { connect } from '../bench/lib.mjs';

const now = () => performance.now();
const wall = () => Date.now();

let edges = []; // [{ port, tlsPort }]
let opts = {};
let clients = [];
let traffic = false;
let quiescing = false;
const errors = []; // unexpected things, each a string (first 50 kept)
const counters = { errorFrames: 0, unavailable: 0, unexpectedCloses: 0, connectFailures: 0, reconnects: 0, churned: 0, framesIn: 0 };
const reconnectMs = { churn: [], edge: [] }; // from the moment the connection dropped to the resume's ok
const recovered = { true: 0, false: 0, reasons: {} };
const note = (s) => {
  if (errors.length < 50) errors.push(s);
};

class SoakClient {
  constructor(spec) {
    Object.assign(this, spec); // i, user, token, tls, room, edge (index), dmTo
    this.ws = null;
    this.ready = false; // connected and its room sub answered
    this.connSeq = 0;
    this.intervals = []; // [welcomeWall, closeWall|null] per connection (direct messages are owed only while connected)
    this.pos = null; // { epoch, offset } of the last room message or ok
    this.roomLast = new Map(); // sender → last n received in order
    this.roomMissing = new Map(); // sender → Set of n skipped (filled later only if the sender's n was ambiguous)
    this.roomLate = []; // [sender, n] received after a higher n
    this.roomDups = 0;
    this.offsetGaps = 0;
    this.offsetDups = 0;
    this.pubN = 0; // last n sent (confirmed or ambiguous)
    this.pubConfirmed = 0; // count of confirmed
    this.pubAmbiguous = []; // n sent whose ok never came (connection lost): may or may not be on the fabric
    this.pubPending = null; // { n, ref }
    this.dmN = 0;
    this.dmPending = null;
    this.dmSent = []; // [n, tSendWall, tOkWall] confirmed
    this.dmAmbiguous = [];
    this.dmLast = new Map();
    this.dmMissing = new Map();
    this.dmLate = [];
    this.dmDups = 0;
    this.notes = new Map(); // id → { conns: [connSeq...], times: [...], readOk: wall|null }
    this.noteDupSameConn = 0;
    this.nextPub = 0;
    this.nextDm = 0;
    this.dropAt = null; // performance.now() of the drop we are recovering from
    this.dropCause = null;
    this.attempts = 0;
    this.refN = 0;
    this.outbox = [];
  }

  // frames right after the welcome (the notification backlog) arrive before open() has the socket
  send(frame) {
    if (this.ws) this.ws.send(JSON.stringify(frame));
    else this.outbox.push(frame);
  }

  open() {
    const e = edges[this.edge];
    const port = this.tls ? e.tlsPort : e.port;
    const mySeq = ++this.connSeq;
    return connect(port, this.token, (f) => this.onFrame(f, mySeq), (code) => this.onClose(code, mySeq), { tls: this.tls }).then(
      ({ ws }) => {
        if (mySeq !== this.connSeq || ws.readyState !== ws.OPEN) return; // closed at once: onClose is reconnecting
        this.ws = ws;
        this.intervals.push([wall(), null]);
        for (const f of this.outbox.splice(0)) this.send(f);
        // first join: a plain sub (records the position); later: resume from the last position seen
        this.subRef = `s${++this.refN}`;
        this.resuming = !!this.pos;
        this.send({ op: 'sub', room: this.room, ref: this.subRef, ...(this.pos ? { since: this.pos } : {}) });
      },
      (err) => {
        counters.connectFailures++;
        throw err;
      },
    );
  }

  onFrame(f, seq) {
    counters.framesIn++;
    if (seq !== this.connSeq) return;
    switch (f.op) {
      case 'msg':
        if (f.room !== undefined) this.onRoomMsg(f);
        else this.onDm(f);
        break;
      case 'notify':
        this.onNotify(f);
        break;
      case 'ok':
        this.onOk(f);
        break;
      case 'error':
        if (f.code === 'unavailable') {
          // nothing was published (PROTOCOL section 2): send the same n again later
          counters.unavailable++;
          if (this.pubPending?.ref === f.ref) this.pubPending = null, this.pubN--, this.nextPub = now() + 500;
          else if (this.dmPending?.ref === f.ref) this.dmPending = null, this.dmN--, this.nextDm = now() + 500;
        } else {
          counters.errorFrames++;
          note(`${this.user}: error ${JSON.stringify(f)}`);
        }
        break;
      default:
        break; // backlog, read events, pong
    }
  }

  onRoomMsg(f) {
    if (f.room !== this.room) return note(`${this.user}: msg of room ${f.room}, joined ${this.room}`);
    if (this.pos && f.epoch === this.pos.epoch) {
      if (f.offset <= this.pos.offset) this.offsetDups++;
      else if (f.offset > this.pos.offset + 1) this.offsetGaps += f.offset - this.pos.offset - 1;
    }
    this.pos = { epoch: f.epoch, offset: f.offset };
    const d = f.data;
    if (!d || typeof d.s !== 'string' || !Number.isInteger(d.n)) return note(`${this.user}: room msg without s/n: ${JSON.stringify(f).slice(0, 200)}`);
    seqCheck(this.roomLast, this.roomMissing, this.roomLate, d.s, d.n, () => this.roomDups++);
  }

  onDm(f) {
    const d = f.data;
    if (f.to !== this.user || !d || typeof d.s !== 'string' || !Number.isInteger(d.n)) return note(`${this.user}: bad direct message ${JSON.stringify(f).slice(0, 200)}`);
    seqCheck(this.dmLast, this.dmMissing, this.dmLate, d.s, d.n, () => this.dmDups++);
  }

  onNotify(f) {
    let r = this.notes.get(f.id);
    if (!r) this.notes.set(f.id, (r = { conns: [], times: [], readOk: null }));
    if (r.conns.includes(this.connSeq)) this.noteDupSameConn++;
    r.conns.push(this.connSeq);
    r.times.push(wall());
    // mark it read (so the next connection's backlog leaves it out); the ok is when that is on record
    this.send({ op: 'read', ids: [f.id], ref: `r:${f.id}` });
  }

  onOk(f) {
    const ref = String(f.ref ?? '');
    if (ref === this.subRef) {
      if (this.resuming) {
        if (f.recovered === true) recovered.true++;
        else {
          recovered.false++;
          recovered.reasons[f.reason] = (recovered.reasons[f.reason] ?? 0) + 1;
          note(`${this.user}: resume from ${JSON.stringify(this.pos)} on edge ${this.edge}: ${JSON.stringify(f)}`);
        }
      }
      if (typeof f.epoch === 'string') {
        if (this.pos && f.epoch === this.pos.epoch && f.offset !== this.pos.offset && this.resuming) {
          note(`${this.user}: resume ok at offset ${f.offset}, last message received ${this.pos.offset}`);
        }
        this.pos = { epoch: f.epoch, offset: f.offset };
      }
      this.ready = true;
      if (this.dropAt !== null) {
        reconnectMs[this.dropCause].push(now() - this.dropAt);
        this.dropAt = null;
      }
      this.attempts = 0;
      if (this.onReady) this.onReady(), (this.onReady = null);
    } else if (this.pubPending?.ref === ref) {
      this.pubConfirmed++;
      this.pubPending = null;
    } else if (this.dmPending?.ref === ref) {
      this.dmSent.push([this.dmPending.n, this.dmPending.t, wall()]);
      this.dmPending = null;
    } else if (ref.startsWith('r:')) {
      const r = this.notes.get(ref.slice(2));
      if (r && r.readOk === null) r.readOk = wall();
    }
  }

  // the connection is gone: what was in flight is ambiguous; reconnect (churn: at once, anywhere;
  // otherwise to the same edge with backoff, as a client whose edge died would)
  onClose(code, seq) {
    if (seq !== this.connSeq) return;
    const iv = this.intervals.at(-1);
    if (iv && iv[1] === null) iv[1] = wall();
    this.ready = false;
    this.ws = null;
    this.outbox.length = 0;
    if (this.pubPending) this.pubAmbiguous.push(this.pubPending.n), (this.pubPending = null);
    if (this.dmPending) this.dmAmbiguous.push(this.dmPending.n), (this.dmPending = null);
    if (this.churning) {
      this.churning = false;
      this.dropCause = 'churn';
      this.dropAt = this.churnAt;
      this.edge = Math.floor(Math.random() * edges.length);
      this.reconnect(0);
    } else {
      counters.unexpectedCloses++;
      unexpected.push([wall(), this.edge, code]);
      this.dropCause = 'edge';
      this.dropAt = now();
      this.reconnect(100);
    }
  }

  reconnect(delayMs) {
    setTimeout(() => {
      counters.reconnects++;
      this.open().catch(() => {
        this.attempts++;
        // after about 20 s without its edge, a client tries the other one
        if (this.attempts > 40) this.edge = (this.edge + 1) % edges.length;
        this.reconnect(Math.min(500, 100 * 1.5 ** this.attempts));
      });
    }, delayMs);
  }

  churn() {
    if (!this.ready) return;
    counters.churned++;
    this.churning = true;
    this.churnAt = now();
    // half close politely, half vanish (TCP reset, no close frame), as browsers and phones do
    if (Math.random() < 0.5) this.ws.close(1000);
    else this.ws.terminate();
  }

  tick(t) {
    if (!this.ready) return;
    if (!this.pubPending && t >= this.nextPub) {
      const n = ++this.pubN;
      this.pubPending = { n, ref: `p${n}` };
      this.send({ op: 'pub', room: this.room, data: { s: this.user, n }, ref: this.pubPending.ref });
      this.nextPub = t + opts.pubIntervalMs * (0.5 + Math.random());
    }
    if (!this.dmPending && t >= this.nextDm) {
      const n = ++this.dmN;
      this.dmPending = { n, ref: `d${n}`, t: wall() };
      this.send({ op: 'send', to: this.dmTo, data: { s: this.user, n }, ref: this.dmPending.ref });
      this.nextDm = t + opts.dmIntervalMs * (0.5 + Math.random());
    }
  }

  get busy() {
    return !this.ready || this.pubPending || this.dmPending;
  }

  account() {
    const mapOut = (m) => Object.fromEntries(m);
    const setsOut = (m) => Object.fromEntries([...m].filter(([, s]) => s.size).map(([k, s]) => [k, [...s]]));
    const notes = {};
    for (const [id, r] of this.notes) notes[id] = r;
    return {
      user: this.user, room: this.room, dmTo: this.dmTo, tls: this.tls,
      intervals: this.intervals,
      roomLast: mapOut(this.roomLast), roomMissing: setsOut(this.roomMissing), roomLate: this.roomLate, roomDups: this.roomDups,
      offsetGaps: this.offsetGaps, offsetDups: this.offsetDups,
      pubN: this.pubN, pubConfirmed: this.pubConfirmed, pubAmbiguous: this.pubAmbiguous,
      dmN: this.dmN, dmSent: this.dmSent, dmAmbiguous: this.dmAmbiguous,
      dmLast: mapOut(this.dmLast), dmMissing: setsOut(this.dmMissing), dmLate: this.dmLate, dmDups: this.dmDups,
      notes, noteDupSameConn: this.noteDupSameConn,
    };
  }
}

const unexpected = []; // [wall, edge, close code] of closes this process did not ask for

// Per-sender order: n must be last+1; a jump records the skipped ones as missing (the parent decides
// whether each was owed); an n at or below the last is a duplicate unless it fills a recorded gap
// (an ambiguous message published late by an edge that held it while the broker was away).
function seqCheck(lastMap, missingMap, late, s, n, onDup) {
  const last = lastMap.get(s) ?? 0;
  if (n === last + 1) return void lastMap.set(s, n);
  if (n > last + 1) {
    let miss = missingMap.get(s);
    if (!miss) missingMap.set(s, (miss = new Set()));
    for (let k = last + 1; k < n && miss.size < 10000; k++) miss.add(k);
    lastMap.set(s, n);
    return;
  }
  const miss = missingMap.get(s);
  if (miss?.has(n)) {
    miss.delete(n);
    late.push([s, n]);
  } else onDup();
}

function stats() {
  let connected = 0;
  let ready = 0;
  const perEdge = edges.map(() => 0);
  for (const c of clients) {
    if (c.ws) connected++, perEdge[c.edge]++;
    if (c.ready) ready++;
  }
  return { type: 'stats', connected, ready, perEdge, ...counters, recovered: { ...recovered } };
}

async function init(msg) {
  edges = msg.edges;
  opts = msg.opts;
  clients = msg.clients.map((s) => new SoakClient(s));
  // join at a bounded pace: opts.connectConcurrency handshakes in flight
  let next = 0;
  const worker = async () => {
    while (next < clients.length) {
      const c = clients[next++];
      for (let attempt = 0; ; attempt++) {
        try {
          const ready = new Promise((res) => (c.onReady = res));
          await c.open();
          await ready;
          break;
        } catch (e) {
          if (attempt >= 5) throw new Error(`${c.user}: could not connect: ${e.message}`);
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: opts.connectConcurrency }, worker));
  process.send({ type: 'ready', clients: clients.length });
}

let tickTimer = null;
let churnTimer = null;
function startTraffic() {
  traffic = true;
  const t0 = now();
  // spread the first sends over one interval so the load is even from the start
  for (const c of clients) {
    c.nextPub = t0 + Math.random() * opts.pubIntervalMs;
    c.nextDm = t0 + Math.random() * opts.dmIntervalMs;
  }
  tickTimer = setInterval(() => {
    const t = now();
    for (const c of clients) c.tick(t);
  }, 50);
  // churn: every second, opts.churn of this slice's clients drop and come back
  let carry = 0;
  churnTimer = setInterval(() => {
    carry += opts.churn * clients.length;
    const k = Math.floor(carry);
    carry -= k;
    for (let j = 0; j < k; j++) clients[Math.floor(Math.random() * clients.length)].churn();
  }, 1000);
}

async function quiesce() {
  traffic = false;
  quiescing = true;
  clearInterval(tickTimer);
  clearInterval(churnTimer);
  const deadline = now() + opts.quiesceTimeoutMs;
  while (clients.some((c) => c.busy) && now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const stuck = clients.filter((c) => c.busy);
  for (const c of stuck.slice(0, 5)) note(`${c.user}: still busy at the end (ready=${c.ready} pub=${JSON.stringify(c.pubPending)} dm=${JSON.stringify(c.dmPending)} edge=${c.edge})`);
  process.send({ type: 'quiet', stuck: stuck.length });
}

setInterval(() => process.send(stats()), 2000).unref();

process.on('message', (msg) => {
  switch (msg.cmd) {
    case 'init':
      init(msg).catch((e) => {
        process.send({ type: 'fatal', error: e.message });
      });
      break;
    case 'traffic':
      startTraffic();
      break;
    case 'quiesce':
      quiesce();
      break;
    case 'report':
      process.send({
        ...stats(), type: 'report', errors, reconnectMs, unexpected, quiescing, traffic,
        accounts: clients.map((c) => c.account()),
      });
      break;
    case 'exit':
      for (const c of clients) c.ws?.terminate();
      setTimeout(() => process.exit(0), 100);
      break;
    default:
      break;
  }
});
process.on('disconnect', () => process.exit(0));
