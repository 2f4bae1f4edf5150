// An rpc backend for the tests (PROTOCOL.md section 11): an MQTT 5 client (npm mqtt) in a shared-
// subscription group that answers requests on their Response Topic with their Correlation Data.
// Methods: echo (data back, with the caller's user properties and the worker's name), hold (never
// answers: the test answers later with answerLate), fail (a backend error), garbage (not an answer),
// anything else: echo. Also runnable as a child process (node rpcworker.mjs PORT NAME GROUP), so a
// test can SIGKILL a worker that holds requests; it prints "ready" once subscribed.
import mqtt from 'mqtt';

export const PREFIX = 'mqedge/v1';

export class RpcWorker {
  static async start(port, { name, group = 'workers', filter = `${PREFIX}/rpc/+`, host = '127.0.0.1' } = {}) {
    const client = mqtt.connect(`mqtt://${host}:${port}`, {
      clientId: `${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 0,
    });
    const w = new RpcWorker(client, name);
    await new Promise((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    await client.subscribeAsync(`$share/${group}/${filter}`, { qos: 1 });
    return w;
  }

  constructor(client, name) {
    this.client = client;
    this.name = name;
    this.requests = []; // { topic, method, data, props }
    this.held = [];
    client.on('message', (topic, payload, packet) => this._onRequest(topic, payload, packet.properties ?? {}));
  }

  _onRequest(topic, payload, props) {
    const method = topic.slice(topic.lastIndexOf('/') + 1);
    let data;
    try {
      data = JSON.parse(payload.toString('utf8'));
    } catch {
      data = { unparsable: payload.toString('utf8') };
    }
    const req = { topic, method, data, props };
    this.requests.push(req);
    if (!props.responseTopic || !props.correlationData) return;
    if (method === 'hold' || method.startsWith('quick-hold')) {
      this.held.push(req);
      return;
    }
    let body;
    if (method === 'fail') body = { error: { code: 'failed_on_purpose', message: `asked to fail (${this.name})` } };
    else if (method === 'garbage') body = { result: 'not the answer format' };
    else body = { data: { echo: data, worker: this.name, caller: props.userProperties ?? null } };
    this.answer(req, body);
  }

  answer(req, body) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    this.client.publish(req.props.responseTopic, text, { qos: 1, properties: { correlationData: req.props.correlationData } });
  }

  async end() {
    try {
      await this.client.endAsync(true);
    } catch {
      /* gone */
    }
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [port, name, group] = process.argv.slice(2);
  const w = await RpcWorker.start(Number(port), { name, group });
  w.client.on('message', () => process.stdout.write(`request ${w.requests.length}\n`));
  process.stdout.write('ready\n');
}
