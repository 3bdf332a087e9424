import { describe, expect, it } from 'bun:test';
import { DecisionStream, type StreamClient } from '../../core/api/stream.ts';
import { log } from '../../core/log.ts';
import { validate } from '../../core/schema/ajv.ts';
import { DecisionRecord } from '../../core/schema/decision.ts';
import { tempDir, waitFor } from '../support/cli.ts';
import { appendDecisions, decision, GOOD_KEY, startPaperEngine, testServer } from './_support.ts';

type Message = { type: string; offset?: number; record?: DecisionRecord };

function fakeClient(buffered: () => number) {
  const sent: string[] = [];
  let terminated = false;
  const client: StreamClient = {
    send: (m) => {
      sent.push(m);
      return m.length;
    },
    getBufferedAmount: buffered,
    terminate: () => {
      terminated = true;
    },
    data: { requestId: 'r', client: 'c', log },
  };
  return { client, sent, terminated: () => terminated };
}

const line = (r = decision()) => ({ offset: 0, line: JSON.stringify(r), record: { ...r } });

describe('decision stream fan-out', () => {
  it('drops a client whose unsent bytes pass the bound and keeps serving the others', () => {
    const hub = new DecisionStream(1000);
    const fast = fakeClient(() => 0);
    let backlog = 0;
    const slow = fakeClient(() => backlog);
    hub.add(fast.client);
    hub.add(slow.client);
    hub.onLine(line(), true);
    backlog = 1001;
    hub.onLine(line(), true);
    hub.onLine(line(), true);
    expect(fast.sent).toHaveLength(3);
    expect(slow.sent).toHaveLength(1);
    expect(slow.terminated()).toBe(true);
    expect(hub.size).toBe(1);
    expect(hub.dropped).toBe(1);
  });

  it('sends only records appended while running, never the backlog or malformed lines', () => {
    const hub = new DecisionStream(1000);
    const c = fakeClient(() => 0);
    hub.add(c.client);
    hub.onLine(line(), false);
    hub.onLine({ offset: 0, line: 'not json', record: null }, true);
    expect(c.sent).toHaveLength(0);
  });
});

function connect(url: string): Promise<{ ws: WebSocket; messages: Array<Message & { at: number }> }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/ws/decisions`, {
    headers: { 'x-api-key': GOOD_KEY },
  } as unknown as string[]);
  const messages: Array<Message & { at: number }> = [];
  ws.onmessage = (e) => messages.push({ ...(JSON.parse(String(e.data)) as Message), at: Date.now() });
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve({ ws, messages });
    ws.onerror = () => reject(new Error('websocket failed to open'));
  });
}

/**
 * A WebSocket client that completes the handshake, reads the status line and then never reads
 * again (a separate bash process, so the kernel buffers really fill up).
 */
function stalledClient(url: string) {
  const { hostname, port } = new URL(url);
  const request = [
    'GET /ws/decisions HTTP/1.1',
    `Host: ${hostname}:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    `X-API-Key: ${GOOD_KEY}`,
    '',
    '',
  ].join('\r\n');
  const script = `exec 3<>/dev/tcp/${hostname}/${port}; printf '%s' "$REQ" >&3; read -r status <&3; echo "$status"; sleep 60`;
  return Bun.spawn(['bash', '-c', script], { env: { REQ: request }, stdout: 'pipe', stderr: 'ignore' });
}

const metricValue = async (s: { get(p: string): Promise<Response> }, name: string) =>
  Number((await (await s.get('/metrics')).text()).match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1]);

describe('WS /ws/decisions', () => {
  it('refuses a plain HTTP request with 426 and an unauthenticated upgrade with 401', async () => {
    await using s = await testServer();
    expect((await s.get('/ws/decisions')).status).toBe(426);
    const ws = new WebSocket(`${s.url.replace('http', 'ws')}/ws/decisions`);
    const outcome = await new Promise<string>((resolve) => {
      ws.onopen = () => resolve('open');
      ws.onerror = () => resolve('error');
    });
    expect(outcome).toBe('error');
  });

  it('broadcasts every appended record to several clients and drops a stalled one without stalling them', async () => {
    await using s = await testServer({ wsMaxBufferedBytes: 64 * 1024 });
    const a = await connect(s.url);
    const b = await connect(s.url);
    const stalled = stalledClient(s.url);
    try {
      await waitFor(() => a.messages.length > 0 && b.messages.length > 0, 3_000, 10); // hello
      for (let i = 0; i < 100 && (await metricValue(s, 'atl_ws_clients')) < 3; i++) await Bun.sleep(50);
      expect(await metricValue(s, 'atl_ws_clients')).toBe(3);
      const pad = 'x'.repeat(1500);
      const batch = Array.from({ length: 8000 }, () => decision({ block_reason: pad }));
      appendDecisions(s.paths, batch);
      await waitFor(() => a.messages.length === 8001 && b.messages.length === 8001, 20_000, 20);
      expect(a.messages.slice(1).map((m) => m.record!.decision_id)).toEqual(batch.map((r) => r.decision_id));
      expect(await metricValue(s, 'atl_ws_clients_dropped_total')).toBe(1);
      expect(await metricValue(s, 'atl_ws_clients')).toBe(2);
    } finally {
      a.ws.close();
      b.ws.close();
      stalled.kill();
      await stalled.exited;
    }
  }, 40_000);

  it('delivers a running engine’s decision within one tick of the engine writing it', async () => {
    using dir = tempDir();
    const engine = await startPaperEngine(dir.path, ['BTC/USDT']);
    try {
      await using s = await testServer({}, { root: dir.path, pollMs: 250 });
      const client = await connect(s.url);
      await waitFor(() => client.messages.filter((m) => m.type === 'decision').length >= 3, 15_000, 20);
      for (const m of client.messages.filter((m) => m.type === 'decision')) {
        expect(validate(DecisionRecord, m.record).ok).toBe(true);
        // `ts` is stamped as the tick starts; the record must reach the client before the next tick
        expect(m.at - Date.parse(m.record!.ts)).toBeLessThan(1000);
      }
      client.ws.close();
    } finally {
      engine.kill('SIGTERM');
      await engine.exited;
    }
  }, 30_000);
});
