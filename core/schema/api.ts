import { type Static, Type } from '@sinclair/typebox';
import { Action, Nullable, UtcTimestamp } from './common.ts';

/** `BASE/QUOTE` in the engine's spelling (upper case, as in `--symbols`). */
export const MarketSymbol = Type.String({ pattern: '^[A-Z0-9]{1,15}/[A-Z0-9]{1,15}$', maxLength: 31 });

/** Paper prices and quantities: positive, finite, inside sane bounds. */
const Price = Type.Number({ minimum: 0.000001, maximum: 10_000_000 });
const Quantity = Type.Number({ minimum: 0.00000001, maximum: 1_000_000_000 });

export const OrderSide = Type.Union([Type.Literal('buy'), Type.Literal('sell')]);
export const OrderType = Type.Union([Type.Literal('market'), Type.Literal('limit')]);

/** `POST /api/orders`: a paper order request. Cross-field rules (limit needs price, SL/TP order) are in core/api/orders.ts. */
export const OrderRequestBody = Type.Object(
  {
    symbol: MarketSymbol,
    side: OrderSide,
    quantity: Quantity,
    order_type: Type.Optional(OrderType),
    price: Type.Optional(Price),
    stop_loss: Type.Optional(Price),
    take_profit: Type.Optional(Price),
    client_order_id: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type OrderRequestBody = Static<typeof OrderRequestBody>;

/** One line of `unified_trading/order_requests.jsonl`: what the API accepted, for the engine to consume. */
export const OrderRequestRecord = Type.Object(
  {
    schema_version: Type.Literal('1.0.0'),
    request_id: Type.String({ minLength: 1 }),
    received_at: UtcTimestamp,
    status: Type.Literal('queued'),
    /** api: `POST /api/orders`; cli: `atl force-exit` (no HTTP request, so no request id). */
    source: Type.Union([Type.Literal('api'), Type.Literal('cli')]),
    http_request_id: Nullable(Type.String()),
    /** Who asked: the client address (api), or user@host (cli). */
    client: Type.String(),
    engine: Type.Object(
      { pid: Type.Integer({ minimum: 1 }), mode: Type.String() },
      { additionalProperties: false },
    ),
    order: Type.Object(
      {
        symbol: MarketSymbol,
        side: OrderSide,
        quantity: Quantity,
        order_type: OrderType,
        price: Nullable(Price),
        stop_loss: Nullable(Price),
        take_profit: Nullable(Price),
        client_order_id: Nullable(Type.String()),
        reason: Nullable(Type.String()),
        /** Only close an open opposite position, never open one (a force-exit whose position closed first is refused). */
        reduce_only: Type.Optional(Type.Boolean()),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type OrderRequestRecord = Static<typeof OrderRequestRecord>;

/** `POST /api/emergency-stop`. */
export const EmergencyStopBody = Type.Object(
  { reason: Type.String({ minLength: 1, maxLength: 500, pattern: '\\S' }) },
  { additionalProperties: false },
);
export type EmergencyStopBody = Static<typeof EmergencyStopBody>;

/** `GET /api/decisions` query, after numeric parameters are converted from text. */
export const DecisionsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    before: Type.Optional(Type.Integer({ minimum: 0 })),
    symbol: Type.Optional(MarketSymbol),
    action: Type.Optional(Action),
    blocked_stage: Type.Optional(Type.String({ pattern: '^[a-z0-9_:-]{1,64}$' })),
    since: Type.Optional(UtcTimestamp),
    until: Type.Optional(UtcTimestamp),
  },
  { additionalProperties: false },
);
export type DecisionsQuery = Static<typeof DecisionsQuery>;

export const RateLimitRule = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
    window_s: Type.Number({ minimum: 1, maximum: 86_400 }),
  },
  { additionalProperties: false },
);
export type RateLimitRule = Static<typeof RateLimitRule>;

export const RATE_LIMIT_BUCKETS = [
  'health',
  'metrics',
  'read',
  'orders',
  'emergency_stop',
  'stream',
  'auth_failures',
] as const;
export type RateLimitBucket = (typeof RATE_LIMIT_BUCKETS)[number];

/** `config/api.json` under the data root. Every field optional; env `ATL_API_KEY` wins over `api_key`. */
export const ApiConfigFile = Type.Object(
  {
    api_key: Type.Optional(Type.String()),
    rate_limits: Type.Optional(
      Type.Object(
        {
          health: Type.Optional(RateLimitRule),
          metrics: Type.Optional(RateLimitRule),
          read: Type.Optional(RateLimitRule),
          orders: Type.Optional(RateLimitRule),
          emergency_stop: Type.Optional(RateLimitRule),
          stream: Type.Optional(RateLimitRule),
          auth_failures: Type.Optional(RateLimitRule),
        },
        { additionalProperties: false },
      ),
    ),
    rate_limit_max_clients: Type.Optional(Type.Integer({ minimum: 100, maximum: 1_000_000 })),
    /** `true`: one reverse proxy in front; a number: that many proxies, each appending to X-Forwarded-For. */
    trust_proxy: Type.Optional(Type.Union([Type.Boolean(), Type.Integer({ minimum: 0, maximum: 10 })])),
    max_body_bytes: Type.Optional(Type.Integer({ minimum: 256, maximum: 1_048_576 })),
    ws_max_buffered_bytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 64 * 1_048_576 })),
  },
  { additionalProperties: false },
);
export type ApiConfigFile = Static<typeof ApiConfigFile>;
