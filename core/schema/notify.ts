import { type Static, Type } from '@sinclair/typebox';
import { Mode, Nullable, UtcTimestamp } from './common.ts';
import { Fill } from './decision.ts';

const Common = {
  schema_version: Type.Literal('1.0.0'),
  /** Stable per event: a receiver that sees it twice (a retry after a lost response) drops the copy. */
  id: Type.String({ minLength: 1 }),
  ts: UtcTimestamp,
  host: Type.String(),
  mode: Mode,
  symbol: Type.String(),
  decision_id: Type.String(),
  bar_ts: UtcTimestamp,
};

/** The JSON body `atl run --notify-url URL` POSTs, one event per request. */
export const NotifyEvent = Type.Union([
  Type.Object(
    { ...Common, event: Type.Literal('halt'), reason: Type.String() },
    { additionalProperties: false },
  ),
  Type.Object({ ...Common, event: Type.Literal('fill'), fill: Fill }, { additionalProperties: false }),
  Type.Object(
    {
      ...Common,
      event: Type.Literal('preservation'),
      from: Nullable(Type.String()),
      to: Type.String(),
    },
    { additionalProperties: false },
  ),
]);
export type NotifyEvent = Static<typeof NotifyEvent>;
