// Runs examples/backend/rpc-worker.mjs (the example rpc backend, docs/PROTOCOL.md section 11) for a
// test: started with node against one of the test's brokers, ready once it prints its ready line;
// the Env dumps its log with the servers' and stops it at teardown.
import { join } from 'node:path';
import { Proc, waitFor } from './harness.mjs';
import { REPO_ROOT } from './schemas.mjs';

export const RPC_WORKER = join(REPO_ROOT, 'examples', 'backend', 'rpc-worker.mjs');

// Resolves the Proc once the worker is subscribed. opts: { name = 'w1', group, prefix, args: [] }.
export async function startRpcWorker(env, broker = env.brokers[0], { name = 'w1', group, prefix, args = [] } = {}) {
  const proc = new Proc(`rpc-worker-${name}`, join(env.tmp, `rpc-worker-${name}.log`));
  env.procs.push(proc);
  const a = [RPC_WORKER, '--broker', `${broker.host ?? '127.0.0.1'}:${broker.port}`, '--name', name, ...args];
  if (group) a.push('--group', group);
  if (prefix) a.push('--prefix', prefix);
  proc.start(process.execPath, a);
  await waitFor(() => / \[out\] rpc-worker \S+: ready /.test(proc.text()) || proc.exit, { what: `${proc.name} ready`, timeoutMs: 10000 });
  if (proc.exit) throw new Error(`${proc.name} exited before it was ready:\n${proc.output()}`);
  return proc;
}
