// Authentication at the handshake, and token lifetime after it. An edge refuses an upgrade with a plain
// HTTP answer and a JSON body before any WebSocket exists: 401 token_missing without a token, 401
// token_invalid for a bad signature / malformed token / wrong algorithm / bad sub / future nbf, 401
// token_expired for a past exp, 403 origin_forbidden for an Origin outside --origins, 404 not_found for
// another path. The token may come in the query, an Authorization header or the mqedge_token cookie
// (query first). RS256 and ES256 edges verify with a public key and refuse HS256 tokens (the algorithm is
// pinned). A token that expires during a session closes it with 4001 unless a refresh came in time.
// Anonymous access exists only with --allow-anonymous. A refused user leaves no trace on the broker.
import assert from 'node:assert/strict';
import { scenario, signJwt, makeKeyPair, nowSec, topics, waitFor, delay } from './lib/harness.mjs';

const refusedWith = async (env, edge, opts, status, error) => {
  const r = await env.connectRefused(edge, opts);
  assert.equal(r.status, status, `HTTP status for ${opts.name}: body ${JSON.stringify(r.body)}`);
  assert.equal(r.body.error, error, `error code for ${opts.name}`);
  assert.equal(typeof r.body.message, 'string');
  return r;
};

scenario('HS256: missing, invalid, expired tokens are refused with 401 and a JSON body', { timeout: 60000 }, async (env) => {
  const { broker, edges: [edge] } = await env.cluster(1);
  await refusedWith(env, edge, { name: 'no-token' }, 401, 'token_missing');
  const good = env.token('mallory');
  const [h, p] = good.split('.');
  await refusedWith(env, edge, { name: 'bad-signature', token: `${h}.${p}.${Buffer.from('not the signature').toString('base64url')}` }, 401, 'token_invalid');
  await refusedWith(env, edge, { name: 'other-secret', token: signJwt({ sub: 'mallory', exp: nowSec() + 60 }, { key: 'some-other-secret' }) }, 401, 'token_invalid');
  await refusedWith(env, edge, { name: 'malformed', token: 'not-a-jwt' }, 401, 'token_invalid');
  await refusedWith(env, edge, { name: 'alg-none', token: signJwt({ sub: 'mallory', exp: nowSec() + 60 }, { alg: 'none' }) }, 401, 'token_invalid');
  await refusedWith(env, edge, { name: 'bad-sub', token: env.token({ sub: 'mal/lory', exp: nowSec() + 60 }) }, 401, 'token_invalid');
  await refusedWith(env, edge, { name: 'no-sub', token: env.token({ exp: nowSec() + 60 }) }, 401, 'token_invalid');
  await refusedWith(env, edge, { name: 'nbf-future', token: env.token({ sub: 'mallory', nbf: nowSec() + 600, exp: nowSec() + 3600 }) }, 401, 'token_invalid');
  await refusedWith(env, edge, { name: 'expired', token: env.token({ sub: 'mallory', exp: nowSec() - 120 }) }, 401, 'token_expired');
  await refusedWith(env, edge, { name: 'wrong-path', user: 'alice', path: '/nope' }, 404, 'not_found');
  // Precedence: query first, then header, then cookie ("first found wins").
  await refusedWith(env, edge, { name: 'bad-query-good-header', token: 'garbage', headers: { Authorization: `Bearer ${env.token('alice')}` } }, 401, 'token_invalid');

  // A refused user never got a subscription on the broker, and the edge is fine.
  const h1 = await edge.healthz();
  assert.equal(h1.status, 200);
  const ok = await env.connect(edge, { user: 'alice' });
  assert.equal(ok.welcome.user, 'alice');
  // Positive control: the edge subscribes a connected user's direct topic (PROTOCOL.md section 5)...
  await waitFor(() => broker.log().includes(topics.direct('alice')), { timeoutMs: 10000, what: 'broker log shows a subscription to alice\'s direct topic' });
  // ...and never one for mallory, who was refused every time.
  assert.equal(broker.log().includes(topics.direct('mallory')), false, 'no subscription for a refused user');
  const backend = await env.mqtt(broker, { name: 'backend' });
  await backend.pub(topics.direct('mallory'), { v: 1, id: 'm1', data: 'for nobody' });
  assert.equal((await ok.request({ op: 'ping' })).op, 'pong');
  assert.equal((await edge.readyz()).status, 200);
});

scenario('token transports: query, Authorization header, cookie; subprotocol mqedge.v1', { timeout: 60000 }, async (env) => {
  const { edges: [edge] } = await env.cluster(1);
  const q = await env.connect(edge, { user: 'q-user', via: 'query' });
  assert.equal(q.welcome.user, 'q-user');
  assert.equal(q.welcome.kind, 'user');
  assert.equal(q.welcome.edge, 'e1');
  const h = await env.connect(edge, { user: 'h-user', via: 'header' });
  assert.equal(h.welcome.user, 'h-user');
  const c = await env.connect(edge, { user: 'c-user', via: 'cookie' });
  assert.equal(c.welcome.user, 'c-user');
  // Query wins over header.
  const both = await env.connect(edge, { user: 'query-wins', via: 'query', headers: { Authorization: 'Bearer garbage' } });
  assert.equal(both.welcome.user, 'query-wins');
  // Header wins over cookie.
  const hc = await env.connect(edge, { user: 'header-wins', via: 'header', headers: { Cookie: 'mqedge_token=garbage' } });
  assert.equal(hc.welcome.user, 'header-wins');
  // The subprotocol is accepted when offered.
  const sp = await env.connect(edge, { user: 'proto', protocols: ['mqedge.v1'] });
  assert.equal(sp.ws.protocol, 'mqedge.v1');
  // welcome.exp is the token's exp.
  const exp = nowSec() + 1800;
  const e = await env.connect(edge, { claims: { sub: 'exp-user', exp } });
  assert.equal(e.welcome.exp, exp);
  const noExp = await env.connect(edge, { claims: { sub: 'forever' } });
  assert.equal(noExp.welcome.exp, null);
  for (const cl of [q, h, c, both, hc, sp, e, noExp]) assert.equal((await cl.request({ op: 'ping' })).op, 'pong');
});

scenario('RS256 and ES256 edges verify with a public key; the algorithm is pinned', { timeout: 60000 }, async (env) => {
  const broker = await env.startBroker();
  for (const alg of ['RS256', 'ES256']) {
    const kp = makeKeyPair(alg, env.tmp);
    const edge = await env.startEdge({ id: `e-${alg.toLowerCase()}`, broker, jwt: { alg, publicKeyFile: kp.publicKeyFile } });
    const token = signJwt({ sub: 'alice', exp: nowSec() + 600 }, { alg, key: kp.privateKey });
    const c = await env.connect(edge, { token, name: `alice-${alg}` });
    assert.equal(c.welcome.user, 'alice');
    // An HS256 token (even one keyed with the public key PEM, the classic confusion attack) is refused.
    await refusedWith(env, edge, { name: `hs256-at-${alg}`, token: env.token('alice') }, 401, 'token_invalid');
    await refusedWith(env, edge, { name: `hs256-pem-at-${alg}`, token: signJwt({ sub: 'alice', exp: nowSec() + 600 }, { alg: 'HS256', key: kp.publicPem }) }, 401, 'token_invalid');
    // Signed by another key of the same algorithm.
    const other = makeKeyPair(alg, env.tmp);
    await refusedWith(env, edge, { name: `other-key-${alg}`, token: signJwt({ sub: 'alice', exp: nowSec() + 600 }, { alg, key: other.privateKey }) }, 401, 'token_invalid');
    // The other asymmetric algorithm is refused too.
    const otherAlg = alg === 'RS256' ? 'ES256' : 'RS256';
    const kp2 = makeKeyPair(otherAlg, env.tmp);
    await refusedWith(env, edge, { name: `${otherAlg}-at-${alg}`, token: signJwt({ sub: 'alice', exp: nowSec() + 600 }, { alg: otherAlg, key: kp2.privateKey }) }, 401, 'token_invalid');
    assert.equal((await c.request({ op: 'ping' })).op, 'pong');
  }
});

scenario('a token expiring mid-session closes it with 4001; refresh extends it', { timeout: 60000 }, async (env) => {
  const { edges: [edge] } = await env.cluster(1);
  // exp is in whole seconds: 3 s from now is 2-3 s of validity.
  const shortExp = nowSec() + 3;
  const dies = await env.connect(edge, { claims: { sub: 'shortlived', exp: shortExp, rooms: ['r'] }, name: 'dies' });
  const lives = await env.connect(edge, { claims: { sub: 'refresher', exp: shortExp, rooms: ['r'] }, name: 'lives' });
  assert.equal(dies.welcome.exp, shortExp);

  const newExp = nowSec() + 3600;
  const ok = await lives.ok({ op: 'refresh', token: env.token({ sub: 'refresher', exp: newExp, rooms: ['r'] }) });
  assert.equal(ok.exp, newExp, 'ok for refresh carries the new exp');

  const closed = await dies.waitClose(15000);
  assert.equal(closed.code, 4001, `close code for an expired session (reason ${closed.reason})`);
  assert.ok(Date.now() / 1000 >= shortExp - 1, 'not closed long before exp');
  // The refreshed one outlives the old expiry by a margin, and still works.
  while (Date.now() / 1000 < shortExp + 2) await lives.none((f) => false, 250);
  assert.equal(lives.closed, null, 'refreshed session still open');
  assert.equal((await lives.request({ op: 'ping' })).op, 'pong');
});

scenario('a rejected refresh is token_invalid / token_expired and keeps the old token', { timeout: 60000 }, async (env) => {
  const { edges: [edge] } = await env.cluster(1);
  const lives = await env.connect(edge, { claims: { sub: 'refresher', exp: nowSec() + 600, rooms: ['r'] }, name: 'refresher' });
  // A rejected refresh changes nothing. PROTOCOL.md section 3: a rejected refresh token is answered
  // token_invalid or token_expired, and the old token still applies. All cases are collected first so
  // one wrong code does not hide the others.
  const cases = [
    ['different sub', env.token('someone-else'), 'token_invalid'],
    ['different kind', env.token({ sub: 'refresher', kind: 'device', exp: nowSec() + 600 }), 'token_invalid'],
    ['expired', env.token({ sub: 'refresher', exp: nowSec() - 60 }), 'token_expired'],
    ['bad signature', signJwt({ sub: 'refresher', exp: nowSec() + 600 }, { key: 'wrong' }), 'token_invalid'],
    ['malformed', 'not.a.jwt', 'token_invalid'],
  ];
  const got = [];
  for (const [why, token] of cases) {
    const r = await lives.request({ op: 'refresh', token });
    got.push([why, r.op === 'error' ? r.code : r.op]);
  }
  // The connection and its old permissions are intact...
  assert.equal((await lives.request({ op: 'ping' })).op, 'pong');
  await lives.ok({ op: 'sub', room: 'r' });
  await lives.err({ op: 'sub', room: 'other' }, 'forbidden');
  // ...and each rejection had the documented code.
  assert.deepEqual(got, cases.map(([why, , code]) => [why, code]), 'codes for rejected refresh tokens');
});

scenario('Origin allowlist: other origins get 403 origin_forbidden', { timeout: 60000 }, async (env) => {
  const { edges: [edge] } = await env.cluster(1, { extra: ['--origins', 'http://good.example'] });
  await refusedWith(env, edge, { name: 'evil-origin', user: 'alice', origin: 'http://evil.example' }, 403, 'origin_forbidden');
  await refusedWith(env, edge, { name: 'lookalike-origin', user: 'alice', origin: 'http://good.example.evil.example' }, 403, 'origin_forbidden');
  const good = await env.connect(edge, { user: 'alice', origin: 'http://good.example' });
  assert.equal(good.welcome.user, 'alice');
  // No Origin header at all (a non-browser client) is not "an Origin header not in the allowlist".
  const none = await env.connect(edge, { user: 'bob' });
  assert.equal(none.welcome.user, 'bob');
});

scenario('anonymous access only with --allow-anonymous, and only without a token', { timeout: 60000 }, async (env) => {
  const broker = await env.startBroker();
  const closed = await env.startEdge({ id: 'e1', broker });
  await refusedWith(env, closed, { name: 'anon-at-closed-edge' }, 401, 'token_missing');
  const open = await env.startEdge({ id: 'e2', broker, extra: ['--allow-anonymous'] });
  const anon = await env.connect(open, { name: 'anon' });
  assert.equal(anon.welcome.user, `anon-${anon.welcome.session}`, 'anonymous user id is anon-<session>');
  assert.match(anon.welcome.user, /^[A-Za-z0-9_.@:-]{1,64}$/);
  assert.equal(anon.welcome.kind, 'user');
  // anonymous-rooms defaults to '*': any room, sub and pub; no devices.
  await anon.ok({ op: 'sub', room: 'anything' });
  await anon.ok({ op: 'pub', room: 'anything-else', data: 1 });
  await anon.err({ op: 'sub', device: 'd1' }, 'forbidden');
  await anon.err({ op: 'cmd', device: 'd1', data: 1 }, 'forbidden');
  await anon.ok({ op: 'send', to: 'somebody', data: 'hi' });
  // A presented token is still checked: a bad one is not silently downgraded to anonymous.
  await refusedWith(env, open, { name: 'bad-token-at-open-edge', token: 'garbage' }, 401, 'token_invalid');
  await refusedWith(env, open, { name: 'expired-at-open-edge', token: env.token({ sub: 'x', exp: nowSec() - 60 }) }, 401, 'token_expired');
  const named = await env.connect(open, { user: 'named' });
  assert.equal(named.welcome.user, 'named');
});
