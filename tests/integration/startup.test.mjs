// What an operator meets before the first client connects. Secrets need not be flags (which `ps`
// shows): an edge takes its JWT secret from MQEDGE_JWT_SECRET or from --jwt-secret-file, accepts
// tokens signed with it and refuses others, and its command line holds no secret. A secret file that
// is missing or empty stops the start with exit status 2 and a message naming the file.
// `mqedge --check-config` (CI, systemd's ExecStartPre) reads the same sources and files and says
// "config ok" with status 0, or the precise error with status 2, without starting: no broker is
// needed, no port is taken, no data dir is created. A port that another process holds stops the
// start with exit status 1 and a log line naming the address and the reason. An HS256 secret under
// 32 bytes, or the example config's public placeholder, is named at start (jwt_secret_weak), and
// mqedge-token mints with the same secret file the edge reads (--secret-file).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { scenario, signJwt, nowSec, freePort, httpGet, runEdgeToExit, MQEDGE_BIN } from './lib/harness.mjs';

// Runs the edge binary to its exit (it must exit by itself); resolves { code, signal, out } with
// stdout and stderr together. The caller's MQEDGE_* variables are not passed on.
const runEdge = runEdgeToExit;

const cmdline = (pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');

async function acceptsOnlyItsSecret(env, edge) {
  const alice = await env.connect(edge, { name: 'alice', token: env.token('alice', { rooms: ['lobby'] }) });
  await alice.ok({ op: 'sub', room: 'lobby' });
  alice.close();
  const r = await env.connectRefused(edge, { name: 'other-secret', token: signJwt({ sub: 'mallory', exp: nowSec() + 60 }, { key: 'some-other-secret' }) });
  assert.equal(r.status, 401);
  assert.equal(r.body.error, 'token_invalid');
  assert.ok(!cmdline(edge.proc.pid).includes(env.secret), 'the secret is not on the command line');
}

scenario('the JWT secret from MQEDGE_JWT_SECRET', { timeout: 60000 }, async (env) => {
  await env.startBroker();
  const edge = await env.startEdge({ secret: null, env: { MQEDGE_JWT_SECRET: env.secret } });
  await acceptsOnlyItsSecret(env, edge);
});

scenario('the JWT secret from --jwt-secret-file (one trailing newline stripped)', { timeout: 60000 }, async (env) => {
  const file = join(env.tmp, 'jwt-secret');
  writeFileSync(file, `${env.secret}\n`, { mode: 0o600 });
  await env.startBroker();
  const edge = await env.startEdge({ secret: null, extra: ['--jwt-secret-file', file] });
  await acceptsOnlyItsSecret(env, edge);
});

const TOKEN_BIN = process.env.MQEDGE_TOKEN_BIN || join(dirname(MQEDGE_BIN), 'mqedge-token');
const weakLines = (edge) => edge.proc.text().split('\n').filter((l) => / jwt_secret_weak /.test(l));

scenario('a weak JWT secret is named at start; mqedge-token --secret-file signs with the file the edge reads', { timeout: 60000 }, async (env) => {
  await env.startBroker();
  const short = await env.startEdge({ id: 'short', secret: 'only-31-bytes-long-secret-12345' });
  const placeholder = await env.startEdge({ id: 'placeholder', secret: 'change-me-to-a-long-random-string' });
  assert.equal('only-31-bytes-long-secret-12345'.length, 31);
  const [s] = weakLines(short), [p] = weakLines(placeholder);
  assert.equal(weakLines(short).length, 1, short.proc.text());
  assert.match(s, / warn jwt_secret_weak reason="shorter than 32 bytes" hint="set jwt-secret-file to 32\+ random bytes/);
  assert.equal(weakLines(placeholder).length, 1, placeholder.proc.text());
  assert.match(p, / warn jwt_secret_weak reason="the example config's placeholder"/);
  assert.ok(!s.includes('only-31') && !p.includes('change-me'), 'the secret itself is never logged');

  // what the Debian package does: 32 random bytes in base64, with a newline, read by both
  const file = join(env.tmp, 'jwt-secret');
  const secret = randomBytes(32).toString('base64');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  const edge = await env.startEdge({ id: 'strong', secret: null, extra: ['--jwt-secret-file', file] });
  assert.deepEqual(weakLines(edge), []);
  const token = execFileSync(TOKEN_BIN, ['--secret-file', file, '--sub', 'alice', '--rooms', 'lobby'], { encoding: 'utf8' }).trim();
  const alice = await env.connect(edge, { name: 'alice', token });
  await alice.ok({ op: 'sub', room: 'lobby' });
  alice.close();
  // the same claims signed with the secret's text plus the newline are refused: the newline is not part of it
  const withNewline = signJwt({ sub: 'alice', exp: nowSec() + 60 }, { key: `${secret}\n` });
  const r = await env.connectRefused(edge, { name: 'newline', token: withNewline });
  assert.deepEqual([r.status, r.body.error], [401, 'token_invalid']);
});

scenario('a missing or empty secret file stops the start: exit 2, the file named', async (env) => {
  const missing = join(env.tmp, 'no-such-secret');
  let r = await runEdge(['--jwt-secret-file', missing]);
  assert.deepEqual([r.code, r.out], [2, `mqedge: jwt-secret-file: cannot read ${missing}: No such file or directory\n`]);
  const empty = join(env.tmp, 'empty-secret');
  writeFileSync(empty, '\n');
  r = await runEdge([], { env: { MQEDGE_API_KEY_FILE: empty, MQEDGE_ALLOW_ANONYMOUS: 'true' } });
  assert.deepEqual([r.code, r.out], [2, `mqedge: environment MQEDGE_API_KEY_FILE: api-key-file: ${empty} is empty\n`]);
});

scenario('--check-config: "config ok" and 0, or the precise error and 2, starting nothing', async (env) => {
  const conf = join(env.tmp, 'mqedge.conf');
  const secret = join(env.tmp, 'secret');
  const web = join(env.tmp, 'web');
  const data = join(env.tmp, 'not-yet', 'data');
  mkdirSync(join(env.tmp, 'not-yet'));
  mkdirSync(web);
  writeFileSync(secret, 'file-secret\n');
  writeFileSync(conf, `port = 1 # replaced by the flag\njwt-secret-file = ${secret}\ndata-dir = ${data}\n` +
    `history-rooms = lobby=50 # and a comment\nweb-root = "${web}"\n`);
  const port = await freePort();
  // no broker runs: the check never connects; the port stays free; nothing is written
  const ok = await runEdge(['--config', conf, '--check-config', '--port', String(port)], { env: { MQEDGE_LOG_LEVEL: 'debug' } });
  assert.deepEqual([ok.code, ok.out], [0, 'config ok\n']);
  assert.equal(existsSync(data), false, 'the data dir is not created');
  await assert.rejects(httpGet(port, '/healthz', { timeoutMs: 500 }), 'nothing listens');

  const bad = [
    [['--config', conf], { MQEDGE_PORT: '70000' }, "environment MQEDGE_PORT: port: '70000' is not an integer in [0, 65535]"],
    [['--config', conf, '--history-rooms', 'lobby=0'], {}, 'bad history-rooms: give PATTERN[=SIZE[/TTL]],... (SIZE >= 1, TTL in seconds)'],
    [['--config', conf, '--web-root', conf], {}, `web-root: ${conf} is not a directory`],
    [['--config', conf, '--data-dir', join(env.tmp, 'a', 'b')], {}, `data-dir: ${join(env.tmp, 'a', 'b')} does not exist and cannot be created in ${join(env.tmp, 'a')}: No such file or directory`],
    [['--config', conf, '--tls-port', '8443', '--cert', join(env.tmp, 'none.pem'), '--key', conf], {}, `cert: cannot read ${join(env.tmp, 'none.pem')}: No such file or directory`],
    [['--config', conf], { MQEDGE_LOG_LEVEL: 'loud' }, "log-level: 'loud' is not error, warn, info or debug"],
    [['--config', conf, '--prot', '9000'], {}, "unknown option '--prot' (see --help)"],
  ];
  for (const [args, vars, message] of bad) {
    const r = await runEdge([...args, '--check-config'], { env: vars });
    assert.deepEqual([r.code, r.out], [2, `mqedge: ${message}\n`], `${args.join(' ')} ${JSON.stringify(vars)}`);
  }
  writeFileSync(conf, 'jwt-secret = "unterminated # oops\n');
  const r = await runEdge(['--config', conf, '--check-config']);
  assert.deepEqual([r.code, r.out], [2, `mqedge: ${conf}:1: unterminated quoted value (a quoted value ends at the next '"')\n`]);
});

scenario('a port in use: exit 1, "cannot listen on ADDR:PORT: Address already in use"', async (env) => {
  const holder = net.createServer();
  await new Promise((resolve, reject) => holder.once('error', reject).listen(0, '127.0.0.1', resolve));
  env.onCleanup(() => new Promise((r) => holder.close(r)));
  const port = holder.address().port;
  const r = await runEdge(['--bind', '127.0.0.1', '--port', String(port), '--allow-anonymous', '--broker', '127.0.0.1:1',
    '--data-dir', join(env.tmp, 'data'), '--edge-id', 'busy']);
  assert.equal(r.code, 1, r.out);
  const failed = r.out.split('\n').filter((l) => / startup_failed /.test(l));
  assert.equal(failed.length, 1, r.out);
  assert.match(failed[0], new RegExp(`^\\S+ error startup_failed reason="cannot listen on 127\\.0\\.0\\.1:${port}: Address already in use" bind=127\\.0\\.0\\.1 port=${port}$`));
});

// lws does not fail for an address this host does not have: it waits, silently, for such an
// interface to appear, and the edge said "started" while nothing listened
scenario('an address this host does not have: exit 1, "Cannot assign requested address", never "started"', async (env) => {
  const port = await freePort();
  const r = await runEdge(['--bind', '192.0.2.77', '--port', String(port), '--allow-anonymous', '--broker', '127.0.0.1:1',
    '--data-dir', join(env.tmp, 'data'), '--edge-id', 'nowhere']);
  assert.equal(r.code, 1, r.out);
  assert.doesNotMatch(r.out, / started /);
  assert.match(r.out, new RegExp(`startup_failed reason="cannot listen on 192\\.0\\.2\\.77:${port}: Cannot assign requested address" bind=192\\.0\\.2\\.77 port=${port}`));
  const named = await runEdge(['--bind', 'localhost', '--port', String(port), '--allow-anonymous', '--broker', '127.0.0.1:1',
    '--data-dir', join(env.tmp, 'data'), '--edge-id', 'named']);
  assert.deepEqual([named.code, named.out], [2, "mqedge: bind: 'localhost' is not an IP address (0.0.0.0 or :: for all)\n"]);
});
