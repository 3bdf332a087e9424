import { type Static, Type } from '@sinclair/typebox';
import { Nullable, UtcTimestamp } from './common.ts';

export const EVIDENCE_SCHEMA_VERSION = '1.0.0';

export const CheckStatus = Type.Union([
  Type.Literal('pass'),
  Type.Literal('warn'),
  Type.Literal('fail'),
  Type.Literal('unknown'),
]);

export const Check = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    status: CheckStatus,
    observed: Type.Unknown(),
    unit: Nullable(Type.String()),
    thresholds: Nullable(Type.Record(Type.String(), Type.Unknown())),
    output: Type.String(),
    hint: Nullable(Type.String()),
    /** The check does not apply on this host or mode; its status is `pass` and `output` says why. */
    skipped: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type Check = Static<typeof Check>;

/** The envelope every judging verb writes (SPEC §7); verb-specific data goes under `details`. */
export const Evidence = Type.Object(
  {
    schema_version: Type.Literal(EVIDENCE_SCHEMA_VERSION),
    verb: Type.String(),
    tool: Type.Object({ name: Type.String(), version: Type.String() }),
    run_id: Type.String(),
    host: Type.String(),
    started_at: UtcTimestamp,
    finished_at: UtcTimestamp,
    status: CheckStatus,
    exit_code: Type.Integer(),
    checks: Type.Array(Check),
    inputs: Type.Array(
      Type.Object({ path: Type.String(), sha256: Nullable(Type.String()), bytes: Nullable(Type.Integer()) }),
    ),
    warnings: Type.Array(Type.String()),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { $id: 'Evidence', additionalProperties: false },
);
export type Evidence = Static<typeof Evidence>;
