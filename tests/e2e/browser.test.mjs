// Browser end-to-end test: the demo page (examples/web, served by the edges themselves at /demo/) in
// real Chromium (Debian's /usr/bin/chromium driven by npm playwright-core), over wss:// only.
//
// The story: one mosquitto, two edges (e1, e2), each with a TLS port using a certificate made for this
// run (openssl, self-signed for 127.0.0.1/localhost), --web-root examples/web, an API key and its own
// data dir.
//   (a) alice opens the page on e1, bob on e2; both join #lobby and each sees the other's message.
//   (b) bob closes his page; a backend sends him a notification over MQTT (examples/backend/
//       notify-mqtt.sh); both edges store it. Bob reopens the page on e2: the bell shows 1 unread and
//       the notification is listed unread. A second tab of bob's on e1 shows 1 too. Bob clicks
//       "Mark read" on e2: the bell clears there, and the read mark travels through the broker to e1,
//       whose tab drops to 0.
//   (c) the device simulator (build/bin/mqedge-device-sim) publishes telemetry for d1 to the broker;
//       alice's device panel shows it live; her "LED on" and "Set interval" buttons send `cmd`, which the
//       simulator logs and acknowledges (an ack on its telemetry topic, shown in the panel).
//   (d) #lobby is a history room keeping 3 messages (and a presence room: the member list follows
//       joins and leaves). e1 is killed; bob (on e2) writes one message; e1 comes back: alice's page
//       reconnects and shows the missed message once, then "Resumed 1 missed message". e1 is killed
//       again; bob writes four; back on e1 the window no longer reaches alice's position: nothing is
//       replayed and the banner "You missed messages — reload" shows; its button reloads the room
//       from the edge's window (the newest three).
//   (e) examples/backend/rpc-worker.mjs answers rpc calls (the edges run with --rpc-timeouts slow=1500):
//       alice's "Who am I?" shows who the backend was told she is (user, edge, worker); "Slow method"
//       shows the edge's `timeout`.
// Each step saves a screenshot under test-artifacts/e2e/ (repo root).
//
// Skips with a message when /usr/bin/chromium (or CHROMIUM_BIN) or the simulator binary is missing,
// unless CI is set (CI=true), where that fails.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import https from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scenario, freePort, httpGet, waitFor, userClaims } from '../integration/lib/harness.mjs';
import { startRpcWorker } from '../integration/lib/rpc-worker.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const SIM_BIN = process.env.MQEDGE_DEVICE_SIM_BIN || join(REPO, 'build', 'bin', 'mqedge-device-sim');
const WEB_ROOT = join(REPO, 'examples', 'web');
const NOTIFY_MQTT = join(REPO, 'examples', 'backend', 'notify-mqtt.sh');
const ARTIFACTS = join(REPO, 'test-artifacts', 'e2e');
const API_KEY = 'e2e-api-key';
// Like the integration harness: any CI value but '' / 'false' / '0' makes a missing prerequisite a failure.
const CI = !!process.env.CI && !['false', '0'].includes(process.env.CI);

function missingPrerequisite() {
  if (!existsSync(CHROMIUM)) return `Chromium not found at ${CHROMIUM} (apt-get install -y chromium fonts-noto-color-emoji fonts-noto-cjk, or set CHROMIUM_BIN)`;
  if (!existsSync(SIM_BIN)) return `device simulator not found at ${SIM_BIN} (build the mqedge-device-sim target, or set MQEDGE_DEVICE_SIM_BIN)`;
  return null;
}

const missing = missingPrerequisite();
if (missing && CI) {
  test('browser e2e prerequisites', () => assert.fail(`CI=true and ${missing}`));
} else {
  scenario('browser e2e over wss: chat across edges, offline inbox, device telemetry and commands', { timeout: 90000, skip: missing ?? false }, run);
}

// ---------------------------------------------------------------------------------------------------

// A self-signed certificate for 127.0.0.1 and localhost (SAN), valid a day.
function makeCert(dir) {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'pipe' });
  return { cert, key };
}

// GETs paths over one kept-alive TLS connection; resolves [{status, length, declared}].
function httpsGetAll(port, paths, timeoutMs = 4000) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  const one = (path) => new Promise((res, rej) => {
    const req = https.get({ host: '127.0.0.1', port, path, agent, timeout: timeoutMs }, (r) => {
      let length = 0;
      r.on('data', (c) => { length += c.length; });
      r.on('end', () => res({ status: r.statusCode, length, declared: Number(r.headers['content-length']) }));
      r.on('error', rej);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no complete answer within ${timeoutMs} ms`)));
    req.on('error', rej);
  });
  return paths.reduce((p, path) => p.then(async (acc) => [...acc, await one(path)]), Promise.resolve([])).finally(() => agent.destroy());
}

// What the browser needs from an edge's TLS port, checked up front so a server bug reads as one.
async function preflight(edge, tlsPort) {
  try {
    await httpsGetAll(tlsPort, ['/readyz']);
  } catch (e) {
    throw new Error(`${edge.name}: --tls-port ${tlsPort} does not speak TLS (${e.message}); the wss:// page cannot load`);
  }
  const paths = ['/demo/', '/demo/style.css', '/demo/mqedge.js', '/demo/app.js'];
  let got;
  try {
    got = await httpsGetAll(tlsPort, paths);
  } catch (e) {
    throw new Error(`${edge.name}: the /demo/ mount cannot serve several files over one keep-alive connection (${e.message})`);
  }
  got.forEach((r, i) => assert.ok(r.status === 200 && r.length === r.declared && r.length > 0,
    `${edge.name} GET ${paths[i]} (request ${i + 1} on one connection): status ${r.status}, ${r.length} of ${r.declared} bytes`));
}

async function userConnections(edge) {
  const r = await httpGet(edge.port, '/metrics');
  return Number(/^mqedge_connections\{kind="user"\} (\d+)$/m.exec(r.body)?.[1] ?? NaN);
}

async function metric(edge, name) {
  const r = await httpGet(edge.port, '/metrics');
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(r.body)?.[1] ?? NaN);
}

async function run(env) {
  const { chromium } = await import('playwright-core');
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const f of readdirSync(ARTIFACTS)) if (f.endsWith('.png')) rmSync(join(ARTIFACTS, f));
  const browserLog = [];
  const pages = {};
  let shot = 0;
  const snap = async (page, name) => {
    const file = join(ARTIFACTS, `${String(++shot).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file });
    return file;
  };

  // ---- servers ----
  const { cert, key } = makeCert(env.tmp);
  const broker = await env.startBroker();
  const tls = {};
  const edges = [];
  for (const id of ['e1', 'e2']) {
    tls[id] = await freePort();
    const dataDir = join(env.tmp, `${id}-data`); // distinct inbox.db per edge
    edges.push(await env.startEdge({ id, broker, dataDir, extra: ['--tls-port', String(tls[id]), '--cert', cert, '--key', key,
      '--web-root', WEB_ROOT, '--api-key', API_KEY, '--history-rooms', 'lobby', '--history-size', '3', '--presence-rooms', 'lobby', '--rpc-timeouts', 'slow=1500'] }));
  }
  const [e1, e2] = edges;
  for (const e of edges) await preflight(e, tls[e.id]);

  const token = (sub) => env.token(userClaims(sub, { rooms: ['lobby', 'team-*'], devices: ['*'], cmd: ['*'], rpc: ['*'] }));
  const pageUrl = (edge, sub) => `https://127.0.0.1:${tls[edge.id]}/demo/?token=${encodeURIComponent(token(sub))}&room=lobby&device=d1`;

  // ---- browsers: one persistent context (profile) per user ----
  const launch = async (name) => {
    const ctx = await chromium.launchPersistentContext(mkdtempSync(join(env.tmp, `chromium-${name}-`)), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--disable-quic'],
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 800 },
    });
    env.onCleanup(() => ctx.close());
    return ctx;
  };
  const open = async (ctx, name, url, edge) => {
    const page = ctx.pages().find((p) => p.url() === 'about:blank') ?? (await ctx.newPage());
    page.on('console', (m) => browserLog.push(`[${name}] console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => browserLog.push(`[${name}] PAGE ERROR: ${e.message}`));
    await page.goto(url);
    await page.locator('#conn[data-state="open"]').waitFor({ timeout: 15000 });
    assert.match(await page.textContent('#conn-text'), new RegExp(`online · ${edge.id}`));
    // a token's expiry is a date and a time (a 24 h token showed only "02:54:01 PM")
    assert.match(await page.textContent('#token-info'), /token valid until .*\b20\d\d\b/);
    assert.doesNotMatch(page.url(), /token=/, 'the page takes the token out of the address bar');
    pages[name] = page;
    return page;
  };
  const messageFrom = (page, from, text) => page.locator('#messages li.msg', { has: page.locator('.from', { hasText: from }) }).filter({ hasText: text });

  const sim = { proc: null, lines: [] };
  try {
    const [aliceCtx, bobCtx] = await Promise.all([launch('alice'), launch('bob')]);

    // ---- (a) chat across edges ----
    const alice = await open(aliceCtx, 'alice@e1', pageUrl(e1, 'alice'), e1);
    // alice's join first: e1 starts lobby's history (epoch) and e2 takes it over when bob joins
    await alice.locator('#messages .system', { hasText: 'Joined #lobby' }).waitFor();
    const bob = await open(bobCtx, 'bob@e2', pageUrl(e2, 'bob'), e2);
    await bob.locator('#messages .system', { hasText: 'Joined #lobby' }).waitFor();
    // the member list: both, each seen from the other's edge
    const memberList = (p) => p.locator('#members li.member').evaluateAll((ls) => ls.map((l) => l.dataset.user));
    await alice.locator('#members li.member[data-user="bob"]').waitFor();
    await bob.locator('#members li.member[data-user="alice"]').waitFor();
    for (const p of [alice, bob]) assert.deepEqual(await memberList(p), ['alice', 'bob']);
    assert.equal(await bob.getAttribute('#bell-count', 'data-count'), '0', 'bob starts with an empty inbox');

    const aliceText = 'Hello from alice on e1 👋 — Grüße';
    const bobText = 'こんにちは from bob on e2 🎉';
    await alice.fill('#msg-input', aliceText);
    await alice.click('#send-btn');
    await bob.fill('#msg-input', bobText);
    await bob.press('#msg-input', 'Enter');
    for (const p of [alice, bob]) {
      await messageFrom(p, 'alice', aliceText).waitFor({ timeout: 10000 });
      await messageFrom(p, 'bob', bobText).waitFor({ timeout: 10000 });
      assert.match(await messageFrom(p, 'alice', aliceText).locator('.time').textContent(), /\d{1,2}:\d{2}:\d{2}/);
      assert.equal(await p.locator('#messages li.msg:not(.system)').count(), 2, 'each message shown exactly once');
    }
    await snap(alice, 'chat-alice-e1');
    await snap(bob, 'chat-bob-e2');

    // a long message: Chromium negotiated permessage-deflate, so it reaches both pages as one
    // compressed frame from each edge's shared compressor, and must read back intact
    const compressed = async () => Promise.all(edges.map(async (e) =>
      Number(/^mqedge_deflate_messages_total\{outcome="compressed"\} (\d+)$/m.exec((await httpGet(e.port, '/metrics')).body)?.[1] ?? NaN)));
    const zBefore = await compressed();
    const longText = `${'长消息 with emoji 😀🎉 and 日本語のテキスト, '.repeat(12)}end`;
    await alice.fill('#msg-input', longText);
    await alice.click('#send-btn');
    for (const p of [alice, bob]) {
      await messageFrom(p, 'alice', 'end').filter({ hasText: '长消息' }).waitFor({ timeout: 10000 });
      const shown = await messageFrom(p, 'alice', '长消息').locator('.text').textContent();
      assert.equal(shown, longText, 'the compressed message reads back intact (emoji, CJK)');
      assert.equal(await p.locator('#messages li.msg:not(.system)').count(), 3, 'shown exactly once');
    }
    const zAfter = await compressed();
    zAfter.forEach((n, i) => assert.ok(n > zBefore[i], `${edges[i].name} compressed it (${zBefore[i]} -> ${n})`));

    // ---- (b) a notification while bob is away ----
    await bob.close();
    await waitFor(async () => (await userConnections(e2)) === 0, { what: 'bob gone from e2' });
    await alice.locator('#members li.member[data-user="bob"]').waitFor({ state: 'detached' });
    assert.deepEqual(await memberList(alice), ['alice'], 'bob left the member list');
    const storedBefore = await Promise.all(edges.map((e) => metric(e, 'mqedge_inbox_stored_total')));
    const noteId = `e2e-${Date.now().toString(36)}`;
    execFileSync(NOTIFY_MQTT, ['bob', 'Carol sent you a note ✉️'], {
      env: { ...process.env, MQTT_HOST: '127.0.0.1', MQTT_PORT: String(broker.port), ANNOUNCE: '0', NOTIFY_ID: noteId, ACTOR: 'carol' },
      stdio: 'pipe',
    });
    // stored by both edges while bob has no session anywhere
    await waitFor(async () => (await Promise.all(edges.map((e) => metric(e, 'mqedge_inbox_stored_total')))).every((n, i) => n > storedBefore[i]),
      { what: 'the notification stored on e1 and e2' });
    assert.equal(await userConnections(e2), 0);

    const bobAgain = await open(bobCtx, 'bob@e2 (reopened)', pageUrl(e2, 'bob'), e2);
    const note2 = bobAgain.locator(`#notif-list li.notif[data-id="${noteId}"]`);
    await note2.waitFor({ timeout: 10000 });
    await waitFor(async () => (await bobAgain.getAttribute('#bell-count', 'data-count')) === '1', { what: 'bell shows 1 on e2' });
    assert.match(await note2.getAttribute('class'), /\bunread\b/);
    assert.match(await note2.textContent(), /Carol sent you a note/);
    assert.equal(await bobAgain.textContent('#bell-count'), '1');
    await snap(bobAgain, 'inbox-bob-e2-unread');

    const bobTab = await open(bobCtx, 'bob@e1 (second tab)', pageUrl(e1, 'bob'), e1);
    const note1 = bobTab.locator(`#notif-list li.notif[data-id="${noteId}"]`);
    await note1.waitFor({ timeout: 10000 });
    await waitFor(async () => (await bobTab.getAttribute('#bell-count', 'data-count')) === '1', { what: 'bell shows 1 on e1' });
    await snap(bobTab, 'inbox-bob-e1-unread');

    await note2.locator('.mark-read').click();
    await waitFor(async () => (await bobAgain.getAttribute('#bell-count', 'data-count')) === '0', { what: 'bell cleared on e2' });
    assert.match(await note2.getAttribute('class'), /\bread\b/);
    assert.ok(!(await bobAgain.locator('#bell-count').isVisible()), 'the badge disappears at 0');
    await snap(bobAgain, 'inbox-bob-e2-read');
    // the read mark travels e2 → broker → e1 → bob's other tab
    await waitFor(async () => (await bobTab.getAttribute('#bell-count', 'data-count')) === '0', { what: 'unread count drops on e1', timeoutMs: 10000 });
    await waitFor(async () => /\bread\b/.test(await note1.getAttribute('class')), { what: 'item read on e1' });
    await snap(bobTab, 'inbox-bob-e1-read');

    // ---- (c) device telemetry and commands ----
    sim.proc = spawn(SIM_BIN, ['--broker', `127.0.0.1:${broker.port}`, '--id', 'd1', '--interval-ms', '250', '--qos', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [sim.proc.stdout, sim.proc.stderr]) s.on('data', (d) => sim.lines.push(...d.toString().split('\n').filter(Boolean)));
    env.onCleanup(() => sim.proc.exitCode === null && sim.proc.kill('SIGKILL'));
    const simSaid = (re, what) => waitFor(() => sim.lines.some((l) => re.test(l)), { what: `simulator: ${what}`, timeoutMs: 10000 });

    const seqOf = async () => Number((await alice.textContent('#dev-seq')).replace('#', '')) || 0;
    await waitFor(async () => (await seqOf()) > 0, { what: 'first telemetry sample in the device panel' });
    const first = await seqOf();
    await waitFor(async () => (await seqOf()) >= first + 8, { what: 'telemetry keeps arriving live' });
    assert.match(await alice.textContent('#dev-temp'), /^\d+\.\d °C$/);
    assert.ok((await alice.getAttribute('#spark-line', 'points')).split(' ').length >= 8, 'the sparkline draws the samples');
    assert.equal(await alice.getAttribute('#dev-led', 'data-led'), 'off');

    await alice.click('#cmd-led-on');
    await simSaid(/ cmd id=\S+ from=alice data=\{"led":"on"\} ok=1 result="led=on"/, 'LED-on command received from alice');
    await waitFor(async () => (await alice.getAttribute('#dev-led', 'data-led')) === 'on', { what: 'LED shown on' });
    await waitFor(async () => /✓ d1 did: led=on$/.test(await alice.textContent('#cmd-status')), { what: 'ack shown in the panel' });
    await alice.selectOption('#cmd-interval', '500');
    await alice.click('#cmd-set-interval');
    await simSaid(/ cmd id=\S+ from=alice data=\{"set":\{"interval_ms":500\}\} ok=1 result="interval_ms=500"/, 'interval command');
    await waitFor(async () => /every 500 ms/.test(await alice.textContent('#dev-interval')), { what: 'new interval in telemetry' });
    await snap(alice, 'device-alice-e1');

    // the simulator stops cleanly on SIGTERM
    sim.proc.kill('SIGTERM');
    const code = await new Promise((r) => (sim.proc.exitCode !== null ? r(sim.proc.exitCode) : sim.proc.on('exit', r)));
    assert.equal(code, 0, 'simulator exit status after SIGTERM');
    assert.ok(sim.lines.some((l) => / info stopped readings=\d+/.test(l)));

    // ---- (e) backend calls (rpc) ----
    await startRpcWorker(env, broker, { name: 'w1' });
    const rpcResult = alice.locator('#rpc-result');
    const rpcSettled = async () => {
      await alice.locator('#rpc-result:is([data-state="ok"], [data-state="error"])').waitFor({ timeout: 10000 });
      return rpcResult.textContent();
    };
    await alice.click('#rpc-whoami');
    assert.match(await rpcSettled(), /^Who am I\?: you are alice \(user\) on e1, session \S+; answered by w1 \(\d+ ms\)$/);
    assert.equal(await rpcResult.getAttribute('data-state'), 'ok');
    await alice.click('#rpc-slow');
    assert.match(await rpcResult.textContent(), /waiting for the backend/);
    assert.ok(await alice.locator('#rpc-slow').isDisabled(), 'the button waits for its answer');
    assert.match(await rpcSettled(), /^Slow method: error timeout \(\d+ ms\)$/);
    assert.equal(await rpcResult.getAttribute('data-code'), 'timeout');
    assert.ok(await alice.locator('#rpc-slow').isEnabled());
    await snap(alice, 'rpc-alice-e1');

    const errors = browserLog.filter((l) => /PAGE ERROR|console\.error/.test(l));
    assert.deepEqual(errors, [], 'no page errors or console errors');

    // ---- (d) history: a resumed reconnect, then one past the window (banner, reload) ----
    // alice saw lobby offsets 1-2; the window keeps 3. While e1 is down the page's failed reconnects
    // log "WebSocket connection ... failed" (Chromium's own console error): the only errors allowed.
    const logFrom = browserLog.length;
    const chatTexts = (p) => p.locator('#messages li.msg:not(.system) .text').allTextContents();
    const bobSays = async (text) => {
      await bobAgain.fill('#msg-input', text);
      await bobAgain.press('#msg-input', 'Enter');
      await messageFrom(bobAgain, 'bob', text).waitFor({ timeout: 10000 });
    };
    await e1.kill('SIGKILL');
    await alice.locator('#conn[data-state="reconnecting"]').waitFor({ timeout: 10000 });
    await bobSays('while you were away');
    await e1.start({ port: e1.port });
    await alice.locator('#messages .resume-note', { hasText: 'Resumed 1 missed message' }).waitFor({ timeout: 30000 });
    assert.deepEqual(await chatTexts(alice), [aliceText, bobText, longText, 'while you were away'], 'the missed message, once, in order');
    assert.equal(await alice.locator('#messages .resume-note').count(), 1);
    assert.ok(await alice.locator('#room-banner').isHidden(), 'no banner after a complete resume');
    await snap(alice, 'resume-alice-e1');

    await e1.kill('SIGKILL');
    await alice.locator('#conn[data-state="reconnecting"]').waitFor({ timeout: 10000 });
    const burst = ['burst 1 of 4', 'burst 2 of 4', 'burst 3 of 4', 'burst 4 of 4'];
    for (const t of burst) await bobSays(t);
    await e1.start({ port: e1.port });
    await alice.locator('#room-banner').waitFor({ state: 'visible', timeout: 30000 });
    assert.equal(await alice.textContent('#room-banner .text'), 'You missed messages — reload');
    assert.deepEqual(await chatTexts(alice), [aliceText, bobText, longText, 'while you were away'], 'nothing replayed past the window');
    assert.equal(await alice.locator('#messages .resume-note').count(), 1, 'no second resume note');
    await snap(alice, 'resume-alice-e1-missed');
    await alice.click('#room-reload');
    await alice.locator('#room-banner').waitFor({ state: 'hidden', timeout: 10000 });
    await alice.locator('#messages .system', { hasText: 'Reloaded the 3 most recent messages' }).waitFor();
    assert.deepEqual(await chatTexts(alice), burst.slice(1), 'the window, oldest first');
    await snap(alice, 'resume-alice-e1-reloaded');
    const errorsD = browserLog.slice(logFrom).filter((l) => /PAGE ERROR|console\.error/.test(l) && !/WebSocket connection to .* failed/.test(l));
    assert.deepEqual(errorsD, [], 'no page errors or console errors besides failed reconnects');
  } catch (e) {
    for (const [name, p] of Object.entries(pages)) {
      if (!p.isClosed()) await p.screenshot({ path: join(ARTIFACTS, `failure-${name.replace(/\W+/g, '_')}.png`) }).catch(() => {});
    }
    process.stderr.write(`---- browser log\n${browserLog.join('\n')}\n---- simulator\n${sim.lines.slice(-50).join('\n')}\n`);
    throw e;
  }
}
