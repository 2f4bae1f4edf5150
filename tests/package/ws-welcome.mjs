// Used by tests/package/debian-root.sh: connects to ws://127.0.0.1:PORT/ws with TOKEN (npm ws, as
// the integration tests do) and exits 0 once the edge's first frame is the welcome for USER.
//   node tests/package/ws-welcome.mjs PORT TOKEN USER
import WebSocket from 'ws';

const [port, token, user] = process.argv.slice(2);
const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${encodeURIComponent(token)}`);
const fail = (why) => { console.error(`ws-welcome: ${why}`); process.exit(1); };
const timer = setTimeout(() => fail('no welcome within 5 s'), 5000);
ws.on('unexpected-response', (_req, res) => fail(`handshake refused: HTTP ${res.statusCode}`));
ws.on('error', (e) => fail(e.message));
ws.on('message', (data) => {
  const frame = JSON.parse(data.toString());
  if (frame.op !== 'welcome' || frame.user !== user) fail(`first frame is not the welcome for ${user}: ${data}`);
  console.log(`ws-welcome: ${data}`);
  clearTimeout(timer);
  ws.close(1000);
  ws.on('close', () => process.exit(0));
});
