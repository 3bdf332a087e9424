import { GENESIS_HASH, hashLine } from '../engine/decision-log.ts';
import { barOfId } from '../records/outcome-codec.ts';
import { expandOutcome, expandValue, isHeaderLine, parseHeader } from '../records/reader.ts';
import { validateContract } from '../schema/ajv.ts';
import type { DecisionRecord } from '../schema/decision.ts';
import type { DecisionOutcome } from '../schema/outcome.ts';
import type { RunHeader } from '../schema/record.ts';

/**
 * The one place `audit` and `why` read a decision-log line: the chain over raw bytes, and each
 * line through the records reader (core/records/reader.ts): a run header (`kind: "run"`) is
 * schema-checked and becomes the header the compact (v2) lines after it expand under; a decision
 * line, v1 or v2, is checked in its full view against the DecisionRecord schema.
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

function parse(text: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, problem: `invalid JSON (${(err as Error).message})` };
  }
}

function checked<T>(contract: 'DecisionRecord' | 'DecisionOutcome', value: unknown): LineRead<T> {
  const c = validateContract(contract, value);
  return c.ok
    ? { ok: true, record: c.value as T }
    : { ok: false, problem: `schema: ${c.errors.slice(0, 2).join('; ')}` };
}

/** What one decision-log line is: a run header, or a decision in its full view; `problem` when neither. */
export type LogLine =
  | { kind: 'header'; ok: true; header: RunHeader }
  | { kind: 'header'; ok: false; problem: string }
  | { kind: 'decision'; ok: true; record: DecisionRecord; version: 1 | 2 }
  | { kind: 'decision'; ok: false; problem: string; noHeader?: boolean };

/**
 * Reads a decision log's lines in file order, remembering the latest run header. A header that
 * fails its schema leaves none in force (the lines under it cannot be expanded, and say so).
 */
export class LogLines {
  /** The header in force, and the line it is on (0: none yet). */
  header: RunHeader | null = null;
  headerLine = 0;
  headers = 0;
  /** A header line seen but not parsed yet (`why` parses one only when a line under it matches). */
  private pending: { text: string; line: number } | null = null;

  /** Is the raw line a run header (the writer puts `kind` first)? */
  static isHeader(buf: Buffer, start: number, end: number): boolean {
    return isHeaderLine(buf.subarray(start, end));
  }

  /** Note a header line to parse only if a decision under it is read. */
  deferHeader(text: string, line: number): void {
    this.pending = { text, line };
    this.headers++;
  }

  read(text: string, line: number): LogLine {
    const p = parse(text);
    if (!p.ok) return { kind: 'decision', ok: false, problem: p.problem };
    const kind = (p.value as { kind?: unknown } | null)?.kind;
    if (isHeaderLine(text) || kind === 'run') {
      this.pending = null;
      this.headers++;
      return this.takeHeader(p.value, line);
    }
    return this.decision(p.value);
  }

  private takeHeader(value: unknown, line: number): LogLine {
    this.headerLine = line;
    try {
      this.header = parseHeader(value);
      return { kind: 'header', ok: true, header: this.header };
    } catch (err) {
      this.header = null;
      return { kind: 'header', ok: false, problem: (err as Error).message };
    }
  }

  private decision(value: unknown): LogLine {
    if (this.pending) {
      const { text, line } = this.pending;
      this.pending = null;
      const p = parse(text);
      if (p.ok) this.takeHeader(p.value, line);
      else this.header = null;
    }
    let expanded: ReturnType<typeof expandValue>;
    try {
      expanded = expandValue(value, this.header);
    } catch (err) {
      const noHeader = this.header === null && this.headerLine === 0;
      const under = this.header === null && this.headerLine > 0;
      const problem = under
        ? `a compact line under the unreadable run header on line ${this.headerLine}`
        : (err as Error).message;
      return { kind: 'decision', ok: false, problem, noHeader: noHeader || under };
    }
    const c = checked<DecisionRecord>('DecisionRecord', expanded.record);
    return c.ok
      ? { kind: 'decision', ok: true, record: c.record, version: expanded.version }
      : { kind: 'decision', ok: false, problem: c.problem };
  }
}

/** One line of `rl/decision_outcomes.jsonl` (v1 or compact v2) in its full view, schema-checked. */
export function readOutcomeLine(text: string): LineRead<DecisionOutcome> {
  const p = parse(text);
  if (!p.ok) return p;
  let value = p.value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    value = expandOutcome(value as Record<string, unknown>);
  return checked<DecisionOutcome>('DecisionOutcome', value);
}

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

/** A decision line's bar time from its raw bytes: its `bar_ts`, else (a v2 line leaves it out) the one its id ends with. */
export function barOfLineAt(buf: Buffer, start: number, end: number): string | null {
  const bar = stringFieldAt(buf, start, end, 'bar_ts');
  if (bar !== null) return bar;
  const id = stringFieldAt(buf, start, end, 'decision_id');
  return id === null ? null : barOfId(id);
}
