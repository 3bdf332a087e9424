import { GENESIS_HASH, hashLine } from '../engine/decision-log.ts';
import { validateContract } from '../schema/ajv.ts';
import type { DecisionRecord } from '../schema/decision.ts';
import type { DecisionOutcome } from '../schema/outcome.ts';

/**
 * The one place `audit` and `why` read a decision-log line: the chain over raw bytes and the
 * record's parse. Record v2 (a `kind: "run"` header line in the chain, compact decision lines
 * expanded by one reader) changes this file and nothing else under core/audit.
 */

export { GENESIS_HASH, hashLine };

const PREV_KEY = Buffer.from('"prev_hash":"');
const HASH_HEX = 64;

/**
 * The `prev_hash` a line carries, read from its raw bytes (the writer puts it last, so the search
 * runs from the end); null when the line has none.
 */
export function prevHashOf(buf: Buffer, start: number, end: number): string | null {
  const at = buf.subarray(start, end).lastIndexOf(PREV_KEY);
  if (at < 0) return null;
  const from = start + at + PREV_KEY.length;
  if (from + HASH_HEX >= end || buf[from + HASH_HEX] !== 0x22) return null;
  return buf.toString('latin1', from, from + HASH_HEX);
}

export type LineRead<T> = { ok: true; record: T } | { ok: false; problem: string };

function readLine<K extends 'DecisionRecord' | 'DecisionOutcome'>(contract: K, text: string) {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false as const, problem: `invalid JSON (${(err as Error).message})` };
  }
  const checked = validateContract(contract, value);
  return checked.ok
    ? { ok: true as const, record: checked.value }
    : { ok: false as const, problem: `schema: ${checked.errors.slice(0, 2).join('; ')}` };
}

/** One decision-log line as a record, schema-checked (the generated validator every reader uses). */
export const readRecordLine = (text: string): LineRead<DecisionRecord> => readLine('DecisionRecord', text);

/** One line of `rl/decision_outcomes.jsonl`, schema-checked. */
export const readOutcomeLine = (text: string): LineRead<DecisionOutcome> => readLine('DecisionOutcome', text);

/** Does the raw line mention this exact string field value (`"key":"value"`)? A cheap pre-filter. */
export function hasField(buf: Buffer, start: number, end: number, needle: Buffer): boolean {
  return buf.subarray(start, end).indexOf(needle) >= 0;
}

export const fieldNeedle = (key: string, value: string) => Buffer.from(`"${key}":${JSON.stringify(value)}`);

const keyNeedles = new Map<string, Buffer>();

/** A plain string field's value read from the raw line (`"key":"value"`, no escapes); null when absent. */
export function stringFieldAt(buf: Buffer, start: number, end: number, key: string): string | null {
  let needle = keyNeedles.get(key);
  if (!needle) {
    needle = Buffer.from(`"${key}":"`);
    keyNeedles.set(key, needle);
  }
  const line = buf.subarray(start, end);
  const at = line.indexOf(needle);
  if (at < 0) return null;
  const from = at + needle.length;
  const to = line.indexOf(0x22, from);
  return to < 0 ? null : line.toString('latin1', from, to);
}
