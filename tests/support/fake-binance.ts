/**
 * A loopback exchange for tests: a Bun.serve server on 127.0.0.1 that speaks the Binance spot REST
 * endpoints ccxt's `binance` calls (server time, exchangeInfo, klines, ticker, orders, account),
 * with scripted faults (refused connection, hang, slow body, 429/418 with Retry-After, 5xx,
 * malformed JSON, stale candles) and a request log carrying server-side timestamps.
 *
 * Candles are a deterministic function of (symbol, open time): adjacent candles connect, any
 * range can be served, and the same request always gets the same answer. They are a test
 * double's prices, labelled by the URL every record carries as its source.
 *
 * Run it by hand: `npx bun tests/support/fake-binance.ts [--port 8899]` (README, Loopback exchange).
 */
import { createHmac } from 'node:crypto';
import { dribble, fmt, INTERVALS, klineRows, marketInfo, priceAt } from './fake-binance-market.ts';

export const FAKE_API_KEY = 'atl-fake-key';
export const FAKE_API_SECRET = 'atl-fake-secret';

export type Fault =
  | { kind: 'status'; status: number; retryAfterS?: number; body?: string }
  | { kind: 'hang' }
  | { kind: 'slow-body'; bytesPerSecond: number }
  /** The request reaches the server `ms` late (a slow uplink), then is answered at once. */
  | { kind: 'delay'; ms: number }
  | { kind: 'malformed' }
  /** Order endpoints: the order is placed, then the reply is lost behind a 5xx (outcome unknown). */
  | { kind: 'placed-then-5xx'; status: number };

/** Binance's own error bodies for the faults tests script most. */
export const BINANCE_ERRORS = {
  orderNotFound: { kind: 'status', status: 400, body: '{"code":-2013,"msg":"Order does not exist."}' },
  internalError: {
    kind: 'status',
    status: 503,
    body: '{"code":-1001,"msg":"Internal error; unable to process your request."}',
  },
  insufficientBalance: {
    kind: 'status',
    status: 400,
    body: '{"code":-2010,"msg":"Account has insufficient balance for requested action."}',
  },
} as const satisfies Record<string, Fault>;

type ScriptedFault = { path: string; remaining: number; fault: Fault };

/** One request as the server saw it; `clientPort` tells connections apart (keep-alive reuses one). */
export type LoggedRequest = {
  at: number;
  method: string;
  path: string;
  query: string;
  status: number;
  fault: Fault['kind'] | null;
  clientPort: number | null;
};

type Order = {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  side: 'BUY' | 'SELL';
  type: string;
  origQty: string;
  executedQty: string;
  cummulativeQuoteQty: string;
  price: string;
  status: string;
  time: number;
  fills: unknown[];
};

export type FakeBinanceOptions = {
  port?: number;
  /** `BASE/QUOTE` pairs listed, with how many candles of history each has (default: plenty). */
  symbols?: Record<string, { historyBars?: number }>;
  /** Server clock (epoch ms); tests may skew or freeze it. */
  now?: () => number;
};

const DEFAULT_SYMBOLS: Record<string, { historyBars?: number }> = {
  'BTC/USDT': {},
  'ETH/USDT': {},
  'SOL/USDT': {},
};

export class FakeBinance {
  readonly requests: LoggedRequest[] = [];
  readonly orders = new Map<string, Order>();
  readonly startedAt: number;
  private server: ReturnType<typeof Bun.serve> | null = null;
  private faults: ScriptedFault[] = [];
  private candlesFrozenAt: number | null = null;
  private bannedUntil = 0;
  private orderSeq = 1000;
  private readonly symbols: Map<string, { base: string; quote: string; historyBars: number }>;
  readonly clock: () => number;
  port: number;

  constructor(opts: FakeBinanceOptions = {}) {
    this.clock = opts.now ?? Date.now;
    this.startedAt = this.clock();
    this.port = opts.port ?? 0;
    this.symbols = new Map(
      Object.entries(opts.symbols ?? DEFAULT_SYMBOLS).map(([pair, o]) => {
        const [base, quote] = pair.split('/') as [string, string];
        return [`${base}${quote}`, { base, quote, historyBars: o.historyBars ?? 5_000 }];
      }),
    );
    this.up();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Start (or restart) listening on the same port. */
  up(): void {
    if (this.server) return;
    this.server = Bun.serve({
      hostname: '127.0.0.1',
      port: this.port,
      fetch: (req) => this.handle(req),
      idleTimeout: 30,
    });
    this.port = this.server.port ?? this.port;
  }

  /** Stop listening: clients get "connection refused" until `up()`. */
  down(): void {
    this.server?.stop(true);
    this.server = null;
  }

  /** The next `times` requests whose path starts with `path` get `fault`. */
  inject(path: string, fault: Fault, times = 1): void {
    this.faults.push({ path, remaining: times, fault });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Stop publishing new candles after `at` (epoch ms; null resumes): the exchange goes stale. */
  freezeCandles(at: number | null): void {
    this.candlesFrozenAt = at;
  }

  requestsTo(path: string): LoggedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  stop(): void {
    this.down();
  }

  private async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const entry: LoggedRequest = {
      at: this.clock(),
      method: req.method,
      path: url.pathname,
      query: url.search,
      status: 0,
      fault: null,
      clientPort: this.server?.requestIP(req)?.port ?? null,
    };
    this.requests.push(entry);
    const reply = (status: number, body: string, headers: Record<string, string> = {}) => {
      entry.status = status;
      return new Response(body, { status, headers: { 'content-type': 'application/json', ...headers } });
    };
    // Binance bans an IP that keeps calling during a Retry-After window (418).
    if (entry.at < this.bannedUntil) {
      entry.fault = 'status';
      return reply(418, JSON.stringify({ code: -1003, msg: 'Way too many requests; IP banned.' }), {
        'retry-after': '120',
      });
    }
    const fault = this.takeFault(url.pathname);
    if (fault) {
      entry.fault = fault.kind;
      switch (fault.kind) {
        case 'status': {
          if (fault.retryAfterS !== undefined && (fault.status === 429 || fault.status === 418)) {
            this.bannedUntil = entry.at + fault.retryAfterS * 1000;
          }
          const headers: Record<string, string> =
            fault.retryAfterS !== undefined ? { 'retry-after': String(fault.retryAfterS) } : {};
          return reply(
            fault.status,
            fault.body ?? JSON.stringify({ code: -1003, msg: `scripted ${fault.status}` }),
            headers,
          );
        }
        case 'hang':
          return new Promise<Response>(() => {});
        case 'delay': {
          await Bun.sleep(fault.ms);
          const late = await this.route(req, url);
          entry.status = late.status;
          return late;
        }
        case 'malformed':
          return reply(200, '{"serverTime": 17, "symbols": [ {"symbol": ');
        case 'slow-body': {
          const full = await this.route(req, url);
          entry.status = full.status;
          return new Response(dribble(await full.text(), fault.bytesPerSecond), {
            status: full.status,
            headers: { 'content-type': 'application/json' },
          });
        }
        case 'placed-then-5xx': {
          await this.route(req, url);
          return reply(
            fault.status,
            JSON.stringify({ code: -1000, msg: 'An unknown error occurred while processing the request.' }),
          );
        }
      }
    }
    const res = await this.route(req, url);
    entry.status = res.status;
    return res;
  }

  private takeFault(path: string): Fault | null {
    const i = this.faults.findIndex((f) => path.startsWith(f.path) && f.remaining > 0);
    if (i < 0) return null;
    const f = this.faults[i]!;
    f.remaining--;
    if (f.remaining <= 0) this.faults.splice(i, 1);
    return f.fault;
  }

  private async route(req: Request, url: URL): Promise<Response> {
    const q = url.searchParams;
    const json = (status: number, body: unknown) =>
      new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    const now = this.clock();
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /api/v3/ping':
        return json(200, {});
      case 'GET /api/v3/time':
        return json(200, { serverTime: now });
      case 'GET /api/v3/exchangeInfo':
        return json(200, {
          timezone: 'UTC',
          serverTime: now,
          rateLimits: [],
          exchangeFilters: [],
          symbols: [...this.symbols].map(([id, s]) => marketInfo(id, s.base, s.quote)),
        });
      case 'GET /api/v3/klines':
        return this.klines(q, now, json);
      case 'GET /api/v3/ticker/24hr':
      case 'GET /api/v3/ticker/price': {
        const id = q.get('symbol') ?? '';
        if (!this.symbols.has(id)) return json(400, { code: -1121, msg: 'Invalid symbol.' });
        const last = this.priceAt(id, this.publishedUntil(now));
        return json(200, {
          symbol: id,
          price: fmt(last),
          lastPrice: fmt(last),
          bidPrice: fmt(last * 0.9999),
          askPrice: fmt(last * 1.0001),
          volume: '1000',
          quoteVolume: fmt(last * 1000),
          openTime: now - 86_400_000,
          closeTime: now,
          count: 1000,
        });
      }
      case 'POST /api/v3/order':
        return this.placeOrder(new URLSearchParams(await req.text()), req.headers, now, json);
      case 'GET /api/v3/order': {
        const denied = this.checkSigned(q, req.headers);
        if (denied) return json(401, denied);
        const order = q.get('origClientOrderId')
          ? this.orders.get(q.get('origClientOrderId')!)
          : [...this.orders.values()].find((o) => String(o.orderId) === q.get('orderId'));
        return order ? json(200, order) : json(400, { code: -2013, msg: 'Order does not exist.' });
      }
      case 'GET /api/v3/openOrders':
        return json(200, []);
      case 'GET /api/v3/account': {
        const denied = this.checkSigned(q, req.headers);
        if (denied) return json(401, denied);
        return json(200, {
          makerCommission: 10,
          takerCommission: 10,
          canTrade: true,
          accountType: 'SPOT',
          updateTime: now,
          balances: [{ asset: 'USDT', free: '10000.00000000', locked: '0.00000000' }],
          permissions: ['SPOT'],
        });
      }
      default:
        return json(404, { code: -1000, msg: `no such endpoint ${req.method} ${url.pathname}` });
    }
  }

  private klines(q: URLSearchParams, now: number, json: (s: number, b: unknown) => Response): Response {
    const id = q.get('symbol') ?? '';
    const sym = this.symbols.get(id);
    const tf = INTERVALS[q.get('interval') ?? ''];
    if (!sym) return json(400, { code: -1121, msg: 'Invalid symbol.' });
    if (!tf) return json(400, { code: -1120, msg: 'Invalid interval.' });
    const num = (k: string) => (q.get(k) ? Number(q.get(k)) : null);
    return json(
      200,
      klineRows({
        id,
        base: sym.base,
        tf,
        limit: Math.min(num('limit') ?? 500, 1000),
        startTime: num('startTime'),
        endTime: num('endTime'),
        published: this.publishedUntil(now),
        frozen: this.candlesFrozenAt !== null,
        firstListed: Math.floor(this.startedAt / tf) * tf - sym.historyBars * tf,
      }),
    );
  }

  private publishedUntil(now: number): number {
    return this.candlesFrozenAt === null ? now : Math.min(now, this.candlesFrozenAt);
  }

  /** The price path of a listed symbol (see fake-binance-market.ts). */
  priceAt(id: string, t: number): number {
    return priceAt(id, this.symbols.get(id)?.base ?? '', t);
  }

  private checkSigned(params: URLSearchParams, headers: Headers): { code: number; msg: string } | null {
    if (headers.get('x-mbx-apikey') !== FAKE_API_KEY)
      return { code: -2015, msg: 'Invalid API-key, IP, or permissions for action.' };
    const signature = params.get('signature');
    const payload = [...params]
      .filter(([k]) => k !== 'signature')
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join('&');
    const expected = createHmac('sha256', FAKE_API_SECRET).update(payload).digest('hex');
    return signature === expected ? null : { code: -1022, msg: 'Signature for this request is not valid.' };
  }

  private placeOrder(
    p: URLSearchParams,
    headers: Headers,
    now: number,
    json: (s: number, b: unknown) => Response,
  ): Response {
    const denied = this.checkSigned(p, headers);
    if (denied) return json(401, denied);
    const id = p.get('symbol') ?? '';
    if (!this.symbols.has(id)) return json(400, { code: -1121, msg: 'Invalid symbol.' });
    const clientOrderId = p.get('newClientOrderId') ?? `fake-${this.orderSeq}`;
    if (this.orders.has(clientOrderId)) return json(400, { code: -2010, msg: 'Duplicate order sent.' });
    const qty = Number(p.get('quantity'));
    if (!(qty > 0)) return json(400, { code: -1013, msg: 'Invalid quantity.' });
    const price = this.priceAt(id, now);
    const order: Order = {
      symbol: id,
      orderId: ++this.orderSeq,
      clientOrderId,
      side: p.get('side') === 'SELL' ? 'SELL' : 'BUY',
      type: p.get('type') ?? 'MARKET',
      origQty: fmt(qty),
      executedQty: fmt(qty),
      cummulativeQuoteQty: fmt(qty * price),
      price: '0.00000000',
      status: 'FILLED',
      time: now,
      fills: [
        {
          price: fmt(price),
          qty: fmt(qty),
          commission: fmt(qty * price * 0.001),
          commissionAsset: 'USDT',
          tradeId: this.orderSeq,
        },
      ],
    };
    this.orders.set(clientOrderId, order);
    return json(200, { ...order, transactTime: now, timeInForce: 'GTC', orderListId: -1 });
  }
}

if (import.meta.main) {
  const at = process.argv.indexOf('--port');
  const server = new FakeBinance({ port: at > 0 ? Number(process.argv[at + 1]) : 8899 });
  process.stderr.write(
    `fake binance listening on ${server.url} (Ctrl-C to stop); try: atl doctor --exchange-url ${server.url}\n`,
  );
}
