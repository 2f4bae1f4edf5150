#!/usr/bin/env node
// A compressing stand-in for the floor, to check wsload's receiving side of permessage-deflate
// against a WebSocket server nobody here wrote (npm ws): the edge does not compress yet (issue 14),
// so without this wsload's inflate path would go untested.
//
//   node tests/bench/deflate-peer.mjs --port P --conns N --msgs M [--no-context-takeover]
//
// Accepts N clients (wsload --mode floor --deflate), waits 1.5 s (as the floor does), then sends each of them the same M messages,
// every one compressed (threshold 0), every fifth one in two fragments, the sizes and words varying,
// shaped as the floor's: {"op":"msg",...,"data":{"seq":S,"t":MONOTONIC_NS,"text":...}}; then
// {"op":"end","count":M}. With --no-context-takeover it accepts the offer with
// server_no_context_takeover (each message compressed alone), otherwise the compressor keeps its
// window across messages and wsload must keep its inflate stream too. When every client has gone it
// prints one JSON line: {"conns","msgs","bytes_per_client"} — the text bytes each client was sent,
// end frame included, which wsload's rx_msg_bytes must equal N times over.
import { WebSocketServer } from 'ws';

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : dflt);
const port = Number(opt('port', 0));
const conns = Number(opt('conns', 10));
const msgs = Number(opt('msgs', 100));
const noContext = argv.includes('--no-context-takeover');
const words = ['the', 'deploy', 'looks', 'good', 'latency', 'room', 'message', 'again', 'ready', 'emoji 🎉',
  'ünïcödé', '漢字', 'server', 'client', 'numbers', '42', '3.14159', 'ok'];

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: { threshold: 0, serverNoContextTakeover: noContext },
});
const clients = new Set();
let bytes = 0;
let seen = 0;

function text(seq) {
  const n = 5 + ((seq * 7919) % 150);
  const parts = [];
  for (let i = 0; i < n; i++) parts.push(words[(seq * 31 + i * 17) % words.length]);
  return parts.join(' ');
}

async function run() {
  for (let seq = 0; seq < msgs; seq++) {
    const t = process.hrtime.bigint(); // CLOCK_MONOTONIC, as wsload's
    const msg = `{"op":"msg","id":"peer.${seq}","room":"bench","data":{"seq":${seq},"t":${t},"text":"${text(seq)}"}}`;
    const buf = Buffer.from(msg);
    bytes += buf.length;
    for (const ws of clients) {
      if (seq % 5 === 4) {
        const cut = buf.length >> 1;
        ws.send(buf.subarray(0, cut), { fin: false });
        ws.send(buf.subarray(cut), { fin: true });
      } else {
        ws.send(buf);
      }
    }
    if (seq % 50 === 49) await new Promise((r) => setImmediate(r));
  }
  const end = Buffer.from(`{"op":"end","count":${msgs}}`);
  bytes += end.length;
  for (const ws of clients) ws.send(end);
}

wss.on('connection', (ws) => {
  clients.add(ws);
  seen++;
  ws.on('close', () => {
    clients.delete(ws);
    if (clients.size === 0 && seen >= conns) {
      console.log(JSON.stringify({ conns, msgs, bytes_per_client: bytes, context_takeover: !noContext }));
      wss.close();
      process.exit(0);
    }
  });
  if (seen === conns) setTimeout(run, 1500); // after wsload's --settle-ms (500): the load counts from there
});
wss.on('listening', () => process.stderr.write(`deflate-peer: listening on ${wss.address().port}\n`));
