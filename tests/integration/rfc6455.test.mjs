// RFC 6455 strictness at the handshake and in control frames, and the handshake timeout
// (PROTOCOL.md section 1, "Limits a hostile client meets"). A raw-socket client does what a
// well-behaved library will not.
import assert from 'node:assert/strict';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { scenario, OP, freePort, httpGet, waitFor } from './lib/harness.mjs';

scenario('rfc6455: a version other than 13 gets 426 with Sec-WebSocket-Version: 13, never an upgrade', { timeout: 30000 }, async (env) => {
  const { edges: [e1] } = await env.cluster(1, { extra: ['--allow-anonymous'] });
  for (const version of ['99', '8', null]) {
    const err = await env.raw(e1, { version }).then(() => null, (e) => e);
    assert.ok(err, `version ${version}: refused`);
    assert.equal(err.status, 426, `version ${version}`);
    assert.match(err.head, /^sec-websocket-version: 13$/im);
    assert.deepEqual(JSON.parse(err.body).error, 'bad_version');
  }
  // 13 still works
  const ok = await env.raw(e1, {});
  await ok.nextJson((f) => f.op === 'welcome', 3000, 'welcome');
});

scenario('rfc6455: a close frame with a 1-byte body is answered 1002; bad close codes 1002; a close reason that is not UTF-8 gets 1007', { timeout: 30000 }, async (env) => {
  const { edges: [e1] } = await env.cluster(1, { extra: ['--allow-anonymous'] });
  const one = await env.raw(e1, {});
  await one.nextJson((f) => f.op === 'welcome', 3000, 'welcome');
  let t0 = Date.now();
  one.sendFrame(OP.close, Buffer.from([3]));
  await one.waitFor((c) => c.closeFrame, 2000, 'a close frame');
  assert.equal(one.closeFrame.code, 1002);
  assert.ok(Date.now() - t0 < 2000);
  // the TCP connection ends too: the edge waits 1 s for an answer to its close frame
  await one.waitFor((c) => c.ended, 2500, 'TCP end');

  for (const code of [999, 1004, 1005, 1006, 1015, 2999, 5000]) {
    const c = await env.raw(e1, {});
    await c.nextJson((f) => f.op === 'welcome', 3000, 'welcome');
    const b = Buffer.alloc(2);
    b.writeUInt16BE(code);
    c.sendFrame(OP.close, b);
    await c.waitFor((x) => x.closeFrame, 2000, `close answer to ${code}`);
    assert.equal(c.closeFrame.code, code === 5000 ? 5000 : 1002, `close code ${code}`);
  }
  // valid codes are echoed: 1000 and an application code
  for (const code of [1000, 4000]) {
    const c = await env.raw(e1, {});
    await c.nextJson((f) => f.op === 'welcome', 3000, 'welcome');
    const b = Buffer.alloc(2);
    b.writeUInt16BE(code);
    c.sendFrame(OP.close, Buffer.concat([b, Buffer.from('bye')]));
    await c.waitFor((x) => x.closeFrame, 2000, `close answer to ${code}`);
    assert.deepEqual(c.closeFrame, { code, reason: 'bye' });
  }
  // a reason that is not UTF-8: 1007 (RFC 6455 8.1), never an echo of the bad bytes
  const bad = await env.raw(e1, {});
  await bad.nextJson((f) => f.op === 'welcome', 3000, 'welcome');
  t0 = Date.now();
  bad.sendFrame(OP.close, Buffer.from([3, 232, 0xff, 0xfe]));
  await bad.waitFor((c) => c.closeFrame, 2000, 'a close frame');
  assert.equal(bad.closeFrame.code, 1007);
  await bad.waitFor((c) => c.ended, 2500, 'TCP end');
  assert.ok(Date.now() - t0 < 2500);
});

// Connects over TCP and resolves with the ms until the edge closed it; send(sock) may write bytes.
function timeClose(port, send = () => {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const sock = net.connect({ host: '127.0.0.1', port });
    let timer = null;
    sock.on('connect', () => {
      timer = send(sock);
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      clearInterval(timer);
      resolve(Date.now() - t0);
    });
    setTimeout(() => {
      sock.destroy();
      reject(new Error('not closed within 15 s'));
    }, 15000);
  });
}

scenario('rfc6455: handshake-timeout cuts a silent TCP connection, a slowloris upgrade and a TLS handshake that stalls', { timeout: 60000 }, async (env) => {
  const cert = join(env.tmp, 'cert.pem');
  const key = join(env.tmp, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const tlsPort = await freePort();
  const { edges: [e1] } = await env.cluster(1, {
    extra: ['--allow-anonymous', '--handshake-timeout', '2', '--tls-port', String(tlsPort), '--cert', cert, '--key', key],
  });
  // nothing sent at all: 20 of them, all closed after about 2 s
  const silent = await Promise.all(Array.from({ length: 20 }, () => timeClose(e1.port)));
  for (const ms of silent) assert.ok(ms >= 1500 && ms < 4500, `silent connection closed after ${ms} ms`);
  // headers trickling in, a byte every 200 ms: cut at the same bound, counted from accept
  const head = 'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n';
  const slow = await timeClose(e1.port, (sock) => {
    let i = 0;
    return setInterval(() => {
      if (i < head.length) sock.write(head[i++]);
    }, 200);
  });
  assert.ok(slow >= 1500 && slow < 4500, `slowloris closed after ${slow} ms`);
  // TLS: nothing sent, or a ClientHello that never completes
  const tlsSilent = await timeClose(tlsPort);
  const tlsStalled = await timeClose(tlsPort, (sock) => void sock.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00])));
  for (const ms of [tlsSilent, tlsStalled]) assert.ok(ms >= 1500 && ms < 4500, `TLS stall closed after ${ms} ms`);
  // and an ordinary client is unaffected
  const ok = await env.raw(e1, {});
  await ok.nextJson((f) => f.op === 'welcome', 3000, 'welcome');
});

scenario('rfc6455: an oversize message over permessage-deflate gets 1009 and the connection ends within 2.5 s (it lingered 5 s)', { timeout: 30000 }, async (env) => {
  const { edges: [e1] } = await env.cluster(1, { extra: ['--allow-anonymous'] });
  for (const perMessageDeflate of [true, false]) {
    const ws = new WebSocket(`ws://127.0.0.1:${e1.port}/ws`, { perMessageDeflate });
    await new Promise((resolve, reject) => {
      ws.once('message', resolve);
      ws.once('error', reject);
    });
    assert.equal(ws.extensions, perMessageDeflate ? 'permessage-deflate' : '');
    const t0 = Date.now();
    const closed = new Promise((resolve) => ws.on('close', (code) => resolve({ code, ms: Date.now() - t0 })));
    ws.send(randomBytes(60000).toString('base64'));	// 80,000 characters that do not compress, over max-frame
    const { code, ms } = await closed;
    assert.equal(code, 1009);
    assert.ok(ms < 2500, `deflate ${perMessageDeflate}: TCP closed after ${ms} ms`);
    await waitFor(async () => /mqedge_connections\{kind="user"\} 0\b/.test((await httpGet(e1.port, '/metrics')).body),
      { timeoutMs: 2000, what: 'the session is gone' });
  }
});
