// MQTT side of the tests: a thin wrapper over MQTT.js (npm `mqtt`) with a message queue, used as a
// "backend" (publishing to room/user topics), as an MQTT device, and as an operator reading edge status.
import mqtt from 'mqtt';

export class MqttPeer {
  constructor(client, name) {
    this.client = client;
    this.name = name;
    this.msgs = []; // unconsumed { topic, payload: Buffer, retain, qos, json }
    this.all = [];
    this._waiters = new Set();
    client.on('message', (topic, payload, packet) => {
      let json;
      try {
        json = JSON.parse(payload.toString('utf8'));
      } catch {
        json = undefined;
      }
      const m = { topic, payload: Buffer.from(payload), retain: !!packet.retain, qos: packet.qos, json };
      this.msgs.push(m);
      this.all.push(m);
      for (const w of [...this._waiters]) w();
    });
    client.on('error', (e) => {
      this.lastError = e;
    });
  }

  static async connect(port, { name = 'mqtt', clientId, clean = true, will, timeoutMs = 5000, host = '127.0.0.1' } = {}) {
    // mqtt.connect (not connectAsync) so the message handler is attached before CONNACK: a persistent
    // session's queued messages can arrive in the same read as the CONNACK.
    const client = mqtt.connect(`mqtt://${host}:${port}`, {
      clientId: clientId ?? `${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      clean,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      protocolVersion: 4,
      will,
    });
    const peer = new MqttPeer(client, name);
    await new Promise((resolve, reject) => {
      const onErr = (e) => {
        cleanup();
        client.end(true);
        reject(new Error(`${name}: MQTT connect to ${host}:${port} failed: ${e?.message ?? e}`));
      };
      const onClose = () => onErr(new Error('connection closed'));
      const onConnect = () => {
        cleanup();
        resolve();
      };
      const cleanup = () => {
        client.off('error', onErr);
        client.off('close', onClose);
        client.off('connect', onConnect);
      };
      client.on('connect', onConnect);
      client.on('error', onErr);
      client.on('close', onClose);
    });
    return peer;
  }

  async sub(topic, qos = 1) {
    const granted = await this.client.subscribeAsync(topic, { qos });
    if (!granted.length || granted[0].qos === 128) throw new Error(`${this.name}: subscribe to ${topic} refused`);
    return granted;
  }

  // payload: Buffer | string | object (objects are JSON-encoded).
  async pub(topic, payload, { qos = 1, retain = false } = {}) {
    if (!Buffer.isBuffer(payload) && typeof payload !== 'string') payload = JSON.stringify(payload);
    await this.client.publishAsync(topic, payload, { qos, retain });
  }

  next(pred = () => true, timeoutMs = 5000, what = 'an MQTT message') {
    return new Promise((resolve, reject) => {
      const check = () => {
        const i = this.msgs.findIndex(pred);
        if (i >= 0) {
          const [m] = this.msgs.splice(i, 1);
          cleanup();
          resolve(m);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}; unconsumed: ${this.msgs.slice(0, 5).map((m) => `${m.topic} ${m.payload.toString('utf8').slice(0, 200)}`).join(' | ')}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this._waiters.delete(check);
      };
      if (!check()) this._waiters.add(check);
    });
  }

  async none(pred, windowMs = 400, what = 'MQTT message') {
    const deadline = Date.now() + windowMs;
    while (Date.now() < deadline) {
      const m = this.msgs.find(pred);
      if (m) throw new Error(`${this.name}: unexpected ${what}: ${m.topic} ${m.payload.toString('utf8').slice(0, 300)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async end() {
    try {
      await this.client.endAsync(true);
    } catch {
      /* already gone */
    }
  }
}
