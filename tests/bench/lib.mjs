// Small helpers shared by the Node benchmark drivers (history-bench.mjs, presence-bench.mjs): CPU
// time of a process, pinning to a core, one series of an edge's /metrics, a light WebSocket client
// (npm ws, no schema validation: the drivers check what they measure themselves). Also used by the
// soak (tests/soak).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import WebSocket from 'ws';
import { httpGet } from '../integration/lib/harness.mjs';

export const median = (xs) => {
  const v = xs.filter((x) => x !== null && x !== undefined && !Number.isNaN(x)).sort((a, b) => a - b);
  return v.length ? v[Math.floor(v.length / 2)] : null;
};
export const quantile = (xs, q) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length ? v[Math.min(v.length - 1, Math.floor(q * v.length))] : null;
};
export const round = (x, d = 1) => (x === null || x === undefined ? null : Number(x.toFixed(d)));

// Options as --name value pairs.
export function options(argv = process.argv.slice(2)) {
  const o = {};
  for (let i = 0; i < argv.length; i++) if (argv[i].startsWith('--')) o[argv[i].slice(2)] = argv[i + 1];
  return o;
}

const clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
// user + system seconds of a process, all its threads (/proc/PID/stat, clock ticks)
export function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / clkTck;
}

// Servers on core 0, the driver on core 1, as run.mjs does with taskset (no-op on one core).
export const PIN = cpus().length >= 2;
export function pin(pid, core) {
  if (PIN) execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
}

// One series of GET /metrics, e.g. 'mqedge_connections{kind="user"}' (NaN when absent).
export async function metric(port, series) {
  const esc = series.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^${esc} (\\S+)$`, 'm').exec((await httpGet(port, '/metrics')).body);
  return m ? Number(m[1]) : NaN;
}

// Opens ws://127.0.0.1:port/ws?token=T (wss:// with { tls: true }, any certificate: tests use a
// throwaway self-signed one) and resolves { ws, welcome } at the welcome frame; every later frame goes
// to onFrame(parsed). onClose(code) is called if the connection closes after the welcome.
export function connect(port, token, onFrame, onClose = () => {}, { tls = false } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${tls ? 'wss' : 'ws'}://127.0.0.1:${port}/ws?token=${token}`,
      { perMessageDeflate: false, handshakeTimeout: 30000, ...(tls ? { rejectUnauthorized: false } : {}) });
    let welcomed = false;
    ws.on('message', (data) => {
      const f = JSON.parse(data);
      if (!welcomed) {
        if (f.op !== 'welcome') return reject(new Error(`first frame is not welcome: ${String(data).slice(0, 200)}`));
        welcomed = true;
        resolve({ ws, welcome: f });
        return;
      }
      onFrame(f);
    });
    ws.on('error', (e) => {
      if (!welcomed) reject(e);
    });
    ws.on('close', (code) => {
      if (!welcomed) reject(new Error(`closed ${code} before welcome`));
      else onClose(code);
    });
  });
}

// Runs fn over items with at most `limit` in flight.
export async function pool(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
