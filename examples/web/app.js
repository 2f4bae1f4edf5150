// The mqedge demo page: a chat room, a notification bell and a device panel over one MqEdge client.
// Open it from an edge started with --web-root examples/web:
//   http(s)://HOST:PORT/demo/?token=JWT&room=lobby&device=d1
// It connects back to the same host (ws:// or wss:// matching the page). All text from the network
// goes into the DOM with textContent, never as HTML.
//
// History rooms (edge --history-rooms): after a reconnect the client library resumes the room; the
// missed messages appear as usual followed by a small "Resumed N missed messages" note, or, when the
// edge could not resume (window exceeded, edge restarted), a banner "You missed messages — reload"
// whose button reloads the room from the edge's window (`history`), or the page when the room keeps
// none. Presence rooms (--presence-rooms) show who is in the room, kept current by join/leave events.
// The backend panel calls methods of an rpc backend (examples/backend/rpc-worker.mjs; the token needs
// the rpc claim): "Who am I?" shows who the backend was told the caller is, "Slow method" asks for an
// answer later than the edge waits (scripts/run.sh: --rpc-timeouts slow=3000) and shows `timeout`.
import { MqEdge, tokenExp } from './mqedge.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

// The token leaves the address bar (history, screenshots, shoulder surfing) but survives a reload.
let token = params.get('token');
if (token) {
  sessionStorage.setItem('mqedge_token', token);
  params.delete('token');
  history.replaceState(null, '', location.pathname + (params.toString() ? `?${params}` : ''));
} else {
  token = sessionStorage.getItem('mqedge_token');
}
let room = params.get('room') || 'lobby';
let device = params.get('device') || 'd1';

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const fmtTime = (ms) => timeFmt.format(new Date(ms));
// a token lives for hours or days: its expiry needs the date too
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const initial = (name) => (name || '?').slice(0, 1).toUpperCase();

if (!token) {
  const b = $('banner');
  b.hidden = false;
  b.append('No token. Open this page as ', el('code', '', '/demo/?token=JWT&room=lobby&device=d1'),
    ' (make one with ', el('code', '', 'mqedge-token --secret S --sub alice --rooms "*" --devices "*" --cmd "*" --rpc "*"'), ').');
  setConn('closed', 'no token');
} else {
  start();
}

function setConn(state, text) {
  $('conn').dataset.state = state;
  $('conn-text').textContent = text;
}

function start() {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const client = new MqEdge({ url, token });
  window.mqedge = client; // handy in the console
  const me = { user: null };
  let reconnectAt = 0;
  let countdown = null;

  // ---- connection state ----
  client.on('state', (s) => {
    clearInterval(countdown);
    if (s === 'open') setConn('open', `online · ${client.welcome.edge}`);
    else if (s === 'connecting') setConn('connecting', 'connecting…');
    else if (s === 'closed') setConn('closed', 'offline');
  });
  client.on('disconnect', ({ code, reconnectInMs }) => {
    if (reconnectInMs === null) return;
    if (client.welcome && code !== 1006) systemLine(`Disconnected (${code}); reconnecting…`);
    reconnectAt = Date.now() + reconnectInMs;
    const tick = () => {
      const s = Math.max(0, Math.ceil((reconnectAt - Date.now()) / 1000));
      setConn('reconnecting', s ? `reconnecting in ${s} s` : 'reconnecting…');
    };
    tick();
    clearInterval(countdown);
    countdown = setInterval(tick, 500);
  });
  client.on('connect', (w) => {
    me.user = w.user;
    $('me-name').textContent = w.user;
    $('me-avatar').textContent = initial(w.user);
    $('edge-info').textContent = `edge ${w.edge} · session ${w.session}`;
    const exp = w.exp ?? tokenExp(token);
    $('token-info').textContent = exp ? `token valid until ${dateTimeFmt.format(new Date(exp * 1000))}` : 'token without expiry';
    systemLine(`Connected to ${w.edge} as ${w.user}`);
    // the room is being re-joined: once it is, the member list may have changed meanwhile
    if (client.rooms.has(room)) client.join(room, { presence: true }).then(() => loadPresence(), () => {});
    // welcome.unread > 0 → the backlog follows; then (or at once) load the recent history.
    if (!(w.unread > 0)) loadInbox();
  });
  client.on('error', (e) => {
    if (e.code === 'token_expired') showBanner('The token has expired: open the page with a new one.');
    console.warn('mqedge:', e); // eslint-disable-line no-console
  });

  // ---- chat ----
  const messages = $('messages');
  function appendLine(li) {
    const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
    messages.append(li);
    while (messages.children.length > 300) messages.firstChild.remove();
    if (atBottom) messages.scrollTop = messages.scrollHeight;
  }
  function systemLine(text, cls = '') {
    appendLine(el('li', `msg system${cls ? ` ${cls}` : ''}`, text));
  }
  const shown = new Set(); // ids of the messages listed (a reload from history may overlap live ones)
  client.on('message', (m) => {
    if (m.room !== undefined && m.room !== room) return;
    if (shown.has(m.id)) return;
    shown.add(m.id);
    appendLine(msgLine(m));
  });
  function msgLine(m) {
    const from = m.from ?? (m.room ? 'backend' : 'direct');
    const text = m.data && typeof m.data === 'object' && typeof m.data.text === 'string' ? m.data.text
      : typeof m.data === 'string' ? m.data : JSON.stringify(m.data);
    const li = el('li', `msg${m.from === me.user ? ' mine' : ''}`);
    li.dataset.id = m.id;
    const body = el('div', 'body');
    const meta = el('div', 'meta');
    meta.append(el('span', 'from', m.to ? `${from} → you` : from), el('span', 'time', fmtTime(m.ts)));
    body.append(meta, el('div', 'text', text));
    li.append(el('span', 'avatar', initial(from)), body);
    return li;
  }

  // ---- resume after a reconnect (history rooms) ----
  const missedRooms = new Set(); // rooms whose resume failed, until reloaded
  function renderRoomBanner() {
    $('room-banner').hidden = !missedRooms.has(room);
  }
  client.on('resume', (r) => {
    if (r.recovered) {
      missedRooms.delete(r.room);
      if (r.room === room) systemLine(`Resumed ${r.missed} missed message${r.missed === 1 ? '' : 's'}`, 'resume-note');
    } else {
      missedRooms.add(r.room);
    }
    renderRoomBanner();
  });
  async function reloadRoom() {
    const r = room;
    $('room-reload').disabled = true;
    try {
      const page = await client.history(r, { limit: 50 });
      if (r !== room) return;
      // the window as the edge answered: everything delivered before the reply is in it
      messages.replaceChildren();
      shown.clear();
      for (const m of page.msgs) {
        shown.add(m.id);
        appendLine(msgLine(m));
      }
      systemLine(`Reloaded the ${page.msgs.length} most recent message${page.msgs.length === 1 ? '' : 's'}`);
      missedRooms.delete(r);
      renderRoomBanner();
    } catch (e) {
      if (['disconnected', 'not_connected', 'timeout', 'rate_limited'].includes(e.code)) systemLine(`Reload failed (${e.code}); try again`);
      else location.reload(); // no window to reload from here: the page is the source of truth
    } finally {
      $('room-reload').disabled = false;
    }
  }
  $('room-reload').addEventListener('click', reloadRoom);

  // ---- presence (presence rooms) ----
  const members = new Map(); // user → {user, conns, info}
  let presenceOn = false;
  let presenceCounts = null; // {users} when an edge reports counts only
  function renderMembers() {
    $('presence').hidden = !presenceOn;
    const items = [...members.values()].sort((a, b) => a.user.localeCompare(b.user)).map((m) => {
      const name = typeof m.info?.name === 'string' ? m.info.name : m.user;
      const li = el('li', `member${m.user === me.user ? ' me' : ''}`);
      li.dataset.user = m.user;
      li.title = m.conns > 1 ? `${m.user} (${m.conns} connections)` : m.user;
      li.append(el('span', 'avatar', initial(name)), el('span', 'name', name));
      return li;
    });
    if (presenceCounts && !items.length) items.push(el('li', 'member', `${presenceCounts.users} online`));
    $('members').replaceChildren(...items);
  }
  async function loadPresence() {
    const r = room;
    try {
      const p = await client.presence(r);
      if (r !== room) return;
      presenceOn = true;
      members.clear();
      for (const m of p.members ?? []) members.set(m.user, m);
      presenceCounts = p.members ? null : { users: p.users };
    } catch (e) {
      if (r !== room) return;
      if (e.code === 'bad_request') presenceOn = false; // this room keeps no presence
      else if (e.code !== 'disconnected') console.warn('presence:', e); // eslint-disable-line no-console
    }
    renderMembers();
  }
  client.on('join', (j) => {
    if (j.room !== room || !presenceOn) return;
    members.set(j.user, { conns: 1, ...members.get(j.user), ...j });
    renderMembers();
  });
  client.on('leave', (l) => {
    if (l.room !== room || !presenceOn) return;
    members.delete(l.user);
    renderMembers();
  });

  async function joinRoom(next) {
    const prev = room;
    try {
      await client.join(next, { presence: true });
    } catch (e) {
      systemLine(`Cannot join #${next}: ${e.code}`);
      return;
    }
    room = next;
    if (prev && prev !== next && client.rooms.has(prev)) client.leave(prev).catch(() => {});
    if (prev !== next) missedRooms.delete(prev);
    $('room-title').textContent = `#${room}`;
    $('room-input').value = '';
    if (prev !== next) {
      messages.replaceChildren();
      shown.clear();
      members.clear();
      presenceOn = false;
      renderMembers();
    }
    renderRoomBanner();
    systemLine(`Joined #${room}`);
    updateUrl();
    loadPresence();
  }
  $('join-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = $('room-input').value.trim();
    if (next) joinRoom(next);
  });
  $('send-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = $('msg-input');
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    try {
      await client.publish(room, { text });
    } catch (e) {
      input.value = text; // give it back to retry
      systemLine(`Not sent: ${e.code}`);
    }
  });

  // ---- notifications ----
  const notes = new Map(); // id → notification (what the list shows)
  let inboxMore = false;
  const icons = { announcement: '📣', remind: '🔔', mailbox: '📬' };
  const describe = (n) => n.title || (n.kind === 'mailbox' ? `${n.actor} sent you a message`
    : n.kind === 'remind' ? `${n.actor ?? 'someone'} ${n.action} ${n.object_type} ${n.object_id}` : 'Announcement');

  function renderInbox() {
    const list = $('notif-list');
    const items = [...notes.values()].sort((a, b) => b.ts - a.ts).slice(0, 200);
    list.replaceChildren(...items.map((n) => {
      const li = el('li', `notif ${n.read ? 'read' : 'unread'}`);
      li.dataset.id = n.id;
      const main = el('div');
      const who = n.actor ? ` · ${n.actor}` : '';
      main.append(el('div', 'title', describe(n)), el('div', 'sub', `${n.kind}${who} · ${fmtTime(n.ts)}`));
      const btn = el('button', 'mark-read', 'Mark read');
      btn.type = 'button';
      btn.addEventListener('click', () => markRead([n.id]));
      li.append(el('span', 'icon', icons[n.kind] ?? '🔔'), main, btn);
      return li;
    }));
    $('notif-empty').hidden = notes.size > 0;
    $('load-older').hidden = !inboxMore;
  }
  function setUnread(n) {
    $('bell-count').textContent = n > 99 ? '99+' : String(n);
    $('bell-count').dataset.count = String(n);
    $('inbox-unread').textContent = `${n} unread`;
    $('inbox-unread').dataset.count = String(n);
    document.title = n ? `(${n}) mqedge demo` : 'mqedge demo';
  }
  async function loadInbox(before) {
    try {
      const page = await client.inbox({ before, limit: 20 });
      for (const it of page.items) notes.set(it.id, { ...notes.get(it.id), ...it }); // the edge's read flag wins
      if (!before || page.more === false) inboxMore = page.more;
      renderInbox();
    } catch (e) {
      if (e.code !== 'disconnected') console.warn('inbox:', e); // eslint-disable-line no-console
    }
  }
  async function markRead(ids) {
    try {
      await client.markRead(ids);
      for (const id of ids) if (notes.has(id)) notes.get(id).read = true;
      renderInbox();
    } catch (e) {
      console.warn('read:', e); // eslint-disable-line no-console
    }
  }

  client.on('unread', setUnread);
  client.on('notify', (n) => {
    notes.set(n.id, { ...n });
    renderInbox();
  });
  client.on('backlog', () => loadInbox());
  client.on('read', (r) => {
    for (const n of notes.values()) if (r.all ? n.ts <= r.ts : r.ids.includes(n.id)) n.read = true;
    renderInbox();
  });
  $('mark-all').addEventListener('click', async () => {
    try {
      await client.markAllRead();
      for (const n of notes.values()) n.read = true;
      renderInbox();
    } catch (e) {
      console.warn('read all:', e); // eslint-disable-line no-console
    }
  });
  $('load-older').addEventListener('click', () => {
    const oldest = [...notes.values()].sort((a, b) => a.ts - b.ts)[0];
    loadInbox(oldest?.id);
  });
  $('bell').addEventListener('click', () => {
    const box = $('inbox');
    box.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
    box.classList.remove('flash');
    void box.offsetWidth; // restart the animation
    box.classList.add('flash');
  });

  // ---- device ----
  const temps = [];
  let waitingAck = null; // id of the last command sent
  function renderSpark() {
    if (temps.length < 2) return $('spark-line').setAttribute('points', '');
    const lo = Math.min(...temps) - 0.2;
    const hi = Math.max(...temps) + 0.2;
    const step = 300 / Math.max(temps.length - 1, 1); // fill the width; slides once 60 samples are in
    const pts = temps.map((t, i) => `${(i * step).toFixed(1)},${(57 - ((t - lo) / (hi - lo)) * 54).toFixed(1)}`);
    $('spark-line').setAttribute('points', pts.join(' '));
  }
  function setLed(state) {
    $('dev-led').textContent = state === 'on' ? 'on' : state === 'off' ? 'off' : '—';
    $('dev-led').dataset.led = state ?? 'unknown';
  }
  function cmdStatus(text, cls = '') {
    $('cmd-status').textContent = text;
    $('cmd-status').className = `cmd-status ${cls || 'muted'}`;
  }
  client.on('telemetry', (t) => {
    if (t.device !== device) return;
    const d = t.data && typeof t.data === 'object' ? t.data : { value: t.data };
    if (typeof d.temp === 'number') {
      $('dev-temp').textContent = `${d.temp.toFixed(1)} °C`;
      temps.push(d.temp);
      if (temps.length > 60) temps.shift();
      renderSpark();
    }
    if (typeof d.humidity === 'number') $('dev-hum').textContent = `${d.humidity.toFixed(0)} %`;
    if (d.seq !== undefined) $('dev-seq').textContent = `#${d.seq}`;
    if (d.led) setLed(d.led);
    if (d.interval_ms) $('dev-interval').textContent = `every ${d.interval_ms} ms`;
    $('dev-updated').textContent = `updated ${fmtTime(t.ts)}`;
    if (d.type === 'ack') {
      const mine = d.cmd === waitingAck;
      cmdStatus(`${d.ok ? '✓' : '✗'} ${device} ${d.ok ? 'did' : 'refused'}: ${d.result ?? d.error ?? ''}${mine ? '' : ' (another user)'}`,
        d.ok ? 'ok' : 'bad');
    }
  });
  async function watchDevice(next) {
    try {
      await client.watch(next);
    } catch (e) {
      cmdStatus(`Cannot watch ${next}: ${e.code}`, 'bad');
      return;
    }
    if (device !== next && client.devices.has(device)) client.unwatch(device).catch(() => {});
    if (device !== next) {
      temps.length = 0;
      renderSpark();
      for (const id of ['dev-temp', 'dev-hum', 'dev-seq']) $(id).textContent = '—';
      setLed(undefined);
    }
    device = next;
    $('dev-title').textContent = device;
    $('device-input').value = '';
    updateUrl();
  }
  async function sendCmd(data, label) {
    try {
      const { id } = await client.command(device, data);
      waitingAck = id;
      cmdStatus(`Sent “${label}” to ${device}; waiting for the device…`);
    } catch (e) {
      cmdStatus(`Command refused: ${e.code}`, 'bad');
    }
  }
  $('watch-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = $('device-input').value.trim();
    if (next) watchDevice(next);
  });
  $('cmd-led-on').addEventListener('click', () => sendCmd({ led: 'on' }, 'LED on'));
  $('cmd-led-off').addEventListener('click', () => sendCmd({ led: 'off' }, 'LED off'));
  $('cmd-set-interval').addEventListener('click', () => {
    const ms = Number($('cmd-interval').value);
    sendCmd({ set: { interval_ms: ms } }, `interval ${ms} ms`);
  });

  // ---- backend calls (rpc) ----
  function rpcResult(text, state, code = '') {
    const p = $('rpc-result');
    p.textContent = text;
    p.className = `cmd-status ${state === 'ok' ? 'ok' : state === 'error' ? 'bad' : 'muted'}`;
    p.dataset.state = state;
    p.dataset.code = code;
  }
  async function callRpc(button, method, label, show) {
    button.disabled = true;
    rpcResult(`${label}: waiting for the backend…`, 'pending');
    const t0 = Date.now();
    try {
      // a safety net: the edge's own timeout for the method (at most 60 s) comes first
      const answer = await client.rpc(method, undefined, { timeout: 65000 });
      rpcResult(`${label}: ${show(answer)} (${Date.now() - t0} ms)`, 'ok');
    } catch (e) {
      const code = e.code ?? 'internal';
      rpcResult(`${label}: error ${code} (${Date.now() - t0} ms)`, 'error', code);
    } finally {
      button.disabled = false;
    }
  }
  $('rpc-whoami').addEventListener('click', (ev) => callRpc(ev.currentTarget, 'whoami', 'Who am I?',
    (a) => `you are ${a?.user} (${a?.kind}) on ${a?.edge}, session ${a?.session}; answered by ${a?.worker}`));
  $('rpc-slow').addEventListener('click', (ev) => callRpc(ev.currentTarget, 'slow', 'Slow method',
    (a) => `answered after ${a?.slept_ms} ms`));

  function updateUrl() {
    const p = new URLSearchParams({ room, device });
    history.replaceState(null, '', `${location.pathname}?${p}`);
  }
  function showBanner(text) {
    $('banner').hidden = false;
    $('banner').textContent = text;
  }

  $('room-title').textContent = `#${room}`;
  $('dev-title').textContent = device;
  setUnread(0);
  renderInbox();
  client.connect();
  joinRoom(room);
  watchDevice(device);
}
