import { type Static, Type } from '@sinclair/typebox';
import { Nullable } from './common.ts';

export const RETENTION_SCHEMA_VERSION = '1.0.0';

const Hash = Type.String({ pattern: '^[0-9a-f]{64}$' });

/**
 * One archive of a rotated log that retention deleted, as it was: where its lines sat in the
 * chain (the `prev_hash` its first line carried, the hash of its last line), how many lines and
 * bytes it held and the bar times it covered. Audit starts the chain from the last one's hash.
 */
export const RemovedSegment = Type.Object(
  {
    seq: Type.Integer({ minimum: 1 }),
    file: Type.String(),
    lines: Type.Integer({ minimum: 0 }),
    /** Run header lines among them (the rest are records). */
    headers: Type.Integer({ minimum: 0 }),
    bytes: Type.Integer({ minimum: 0 }),
    /** Chain fields: null for a log without a chain (the outcome file). */
    first_prev_hash: Nullable(Hash),
    last_hash: Hash,
    first_bar_ts: Nullable(Type.String()),
    /**
     * Decisions in it that executed, and the XOR of sha256(decision_id) over them: audit matches
     * the ledger's fills of decisions no longer in the log against it, whatever their order.
     */
    executed: Type.Integer({ minimum: 0 }),
    executed_xor: Hash,
    last_bar_ts: Nullable(Type.String()),
    removed_at: Type.String(),
  },
  { additionalProperties: false },
);

/** `<log>.retention.json` beside a rotated log: every archive removed so far, oldest first. */
export const RetentionManifest = Type.Object(
  {
    schema_version: Type.Literal(RETENTION_SCHEMA_VERSION),
    log: Type.String(),
    removed: Type.Array(RemovedSegment),
  },
  { additionalProperties: false },
);
export type RemovedSegment = Static<typeof RemovedSegment>;
export type RetentionManifest = Static<typeof RetentionManifest>;
