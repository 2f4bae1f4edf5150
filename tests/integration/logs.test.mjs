// Logs an operator can use (issue 11): at the default level (info) one line per WebSocket session
// opened and closed (user, client address, who closed it with which code, duration, frames in and
// out), one per HTTP API call, broker session lines that say which session; and a broker that stays
// away does not write a line per retry -- repeats are held back and counted.
import assert from 'node:assert/strict';
import { scenario, waitFor, delay } from './lib/harness.mjs';
import { api, remind, API_KEY } from './lib/inbox.mjs';

const linesOf = (edge, from, event) => edge.proc.lines.slice(from).filter((l) => l.includes(` ${event} `));
const field = (line, name) => new RegExp(`\\b${name}=("[^"]*"|\\S+)`).exec(line)?.[1]?.replace(/^"|"$/g, '');

scenario('info logs: one line per session open and close, per API call', { timeout: 60000 }, async (env) => {
  const { edges: [e1] } = await env.cluster(1, { extra: ['--api-key', API_KEY, '--max-frame', '1024'] });
  let from = e1.proc.lines.length;
  const alice = await env.connect(e1, { user: 'alice' });
  await alice.ok({ op: 'ping' });
  alice.close(1000);
  await alice.waitClose(3000);
  await waitFor(() => linesOf(e1, from, 'session_closed').length === 1, { what: 'session_closed logged' });
  const [open] = linesOf(e1, from, 'session_open');
  assert.ok(open, 'session_open logged');
  assert.equal(field(open, 'user'), 'alice');
  assert.equal(field(open, 'kind'), 'user');
  assert.equal(field(open, 'addr'), '127.0.0.1');
  const [closed] = linesOf(e1, from, 'session_closed');
  assert.equal(field(closed, 'sess'), field(open, 'sess'));
  assert.deepEqual([field(closed, 'by'), field(closed, 'code')], ['client', '1000']);
  assert.deepEqual([field(closed, 'frames_in'), field(closed, 'frames_out')], ['1', '2'], 'ping in; welcome and pong out');
  assert.ok(Number(field(closed, 'duration_ms')) >= 0);

  // the edge closes: who and why
  from = e1.proc.lines.length;
  const bob = await env.connect(e1, { user: 'bob' });
  bob.sendRaw('x'.repeat(2000));
  assert.equal((await bob.waitClose(3000)).code, 1009);
  await waitFor(() => linesOf(e1, from, 'session_closed').length === 1, { what: 'session_closed logged' });
  const [cut] = linesOf(e1, from, 'session_closed');
  assert.deepEqual([field(cut, 'user'), field(cut, 'by'), field(cut, 'code'), field(cut, 'reason')], ['bob', 'edge', '1009', 'message too big']);

  // a connection that just ends
  from = e1.proc.lines.length;
  const carol = await env.connect(e1, { user: 'carol' });
  carol.terminate();
  await waitFor(() => linesOf(e1, from, 'session_closed').length === 1, { what: 'session_closed logged' });
  assert.deepEqual([field(linesOf(e1, from, 'session_closed')[0], 'by'), field(linesOf(e1, from, 'session_closed')[0], 'code')], ['network', '0']);

  // API calls: accepted and refused, each one line; probes and scrapes none
  from = e1.proc.lines.length;
  assert.equal((await api(env, e1, { ...remind(), to: ['alice'] })).status, 201);
  assert.equal((await api(env, e1, { ...remind(), to: ['alice'] }, { key: 'wrong' })).status, 401);
  assert.equal((await api(env, e1, '{"kind":')).status, 400);
  await e1.readyz();
  await waitFor(() => linesOf(e1, from, 'api_request').length === 3, { what: 'three api_request lines' });
  const calls = linesOf(e1, from, 'api_request').map((l) => [field(l, 'status'), field(l, 'error'), field(l, 'addr')]);
  assert.deepEqual(calls, [['201', '-', '127.0.0.1'], ['401', 'unauthorized', '127.0.0.1'], ['400', 'bad_json', '127.0.0.1']]);
  await delay(200);
  assert.equal(linesOf(e1, from, 'api_request').length, 3, 'nothing for /readyz');
});

scenario('a broker that stays away: one line per kind of trouble and session, then a count when it is back', { timeout: 60000 }, async (env) => {
  const broker = await env.startBroker();
  await broker.kill('SIGKILL');
  const e1 = await env.startEdge({ id: 'e1', broker, waitReady: false });
  // 8 s of retries (backoff 0.1 s doubling to 5 s): 6 or more attempts per session
  await delay(8000);
  for (const session of ['mqedge-e1', 'mqedge-e1-inbox']) {
    const mine = e1.proc.lines.filter((l) => l.includes(`session=${session} `) && / (warn|error) /.test(l));
    const byEvent = new Map();
    for (const l of mine) {
      const ev = / (?:warn|error) (\S+) /.exec(l)[1];
      byEvent.set(ev, (byEvent.get(ev) ?? 0) + 1);
    }
    assert.ok(mine.length >= 1, `${session}: the trouble is logged`);
    for (const [ev, n] of byEvent) assert.equal(n, 1, `${session}: ${ev} logged ${n} times in 8 s`);
  }
  await broker.restart();
  await e1.waitReady(20000);
  await waitFor(() => e1.proc.lines.some((l) => / mqtt_connected session=mqedge-e1 /.test(l)), { what: 'mqtt_connected for the live session' });
  const back = e1.proc.lines.find((l) => / mqtt_connected session=mqedge-e1 /.test(l));
  assert.ok(Number(field(back, 'held_back_lines')) >= 2, `repeats were counted: ${back}`);
});
