import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandOutcome, RecordReader } from '../../core/records/reader.ts';
import { listSegments, logExists } from '../../core/records/segments.ts';
import { validate, validateContract } from '../../core/schema/ajv.ts';
import type { DecisionRecord } from '../../core/schema/decision.ts';
import type { Heartbeat } from '../../core/schema/heartbeat.ts';
import { DecisionOutcome } from '../../core/schema/outcome.ts';

export const GENESIS = '0'.repeat(64);

/** A log's text as one stream: its kept archives in order, then the active file ('' when none). */
export function logText(path: string): string {
  return listSegments(path)
    .segments.map((s) => readFileSync(s.path, 'utf8'))
    .join('');
}

/**
 * Every decision of a log in the full view (through the product's one reader, run headers
 * followed), schema-checked; fails loudly on a torn, glued or unreadable line.
 */
export function readDecisions(root: string): DecisionRecord[] {
  const path = join(root, 'rl', 'shadow_decisions.jsonl');
  if (!logExists(path)) return [];
  const text = logText(path);
  if (text.length > 0 && !text.endsWith('\n'))
    throw new Error('decision log does not end with a newline (torn tail)');
  const reader = new RecordReader();
  const out: DecisionRecord[] = [];
  text
    .split('\n')
    .filter((l) => l !== '')
    .forEach((line, i) => {
      const entry = reader.read(line);
      if (entry.kind === 'header') return;
      const checked = validateContract('DecisionRecord', entry.record);
      if (!checked.ok)
        throw new Error(`line ${i + 1} violates the DecisionRecord schema: ${checked.errors.join('; ')}`);
      out.push(checked.value);
    });
  return out;
}

/** Every line of the outcome log in the full view, schema-checked. */
export function readOutcomes(root: string): DecisionOutcome[] {
  const path = join(root, 'rl', 'decision_outcomes.jsonl');
  if (!logExists(path)) return [];
  return logText(path)
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const checked = validate(DecisionOutcome, expandOutcome(JSON.parse(l)));
      if (!checked.ok)
        throw new Error(`outcome line violates its schema: ${checked.errors.join('; ')}: ${l}`);
      return checked.value;
    });
}

/** Recompute the hash chain independently: each prev_hash is sha256 of the previous raw line. */
export function chainBreaks(root: string): number[] {
  const lines = logText(join(root, 'rl', 'shadow_decisions.jsonl'))
    .split('\n')
    .filter((l) => l !== '');
  const breaks: number[] = [];
  let prev = listSegments(join(root, 'rl', 'shadow_decisions.jsonl')).anchor; // GENESIS unless retention removed archives
  lines.forEach((line, i) => {
    if ((JSON.parse(line) as { prev_hash: string }).prev_hash !== prev) breaks.push(i + 1);
    prev = createHash('sha256').update(line).digest('hex');
  });
  return breaks;
}

export function readHeartbeat(root: string): Heartbeat | null {
  const path = join(root, 'rl', 'paper_live_heartbeat.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Heartbeat) : null;
}

export function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const it of items) out[key(it)] = (out[key(it)] ?? 0) + 1;
  return out;
}

/**
 * The decisions of a data root as two runs of the same replay must agree on them: without the
 * wall-clock time, the tick's correlation id, the chain hash and the paper order ids (which carry
 * the process's run tag). A restart that loses or double-counts state shows up as a difference.
 */
export function comparableDecisions(root: string): unknown[] {
  return readDecisions(root).map(({ ts: _ts, correlation_id: _cid, prev_hash: _hash, ...rest }) => ({
    ...rest,
    execution: rest.execution && {
      fills: rest.execution.fills.map(({ order_id: _id, ...fill }) => fill),
    },
  }));
}

/**
 * Rewrite a data root's decision log as a v1 log (every record whole, re-chained): for tests that
 * edit, shuffle or re-chain raw lines, and to show that v1 logs read as they always did.
 */
export function rewriteAsV1(root: string): void {
  const records = readDecisions(root);
  let prev = GENESIS;
  const lines = records.map((r) => {
    const line = JSON.stringify({ ...r, prev_hash: prev });
    prev = createHash('sha256').update(line).digest('hex');
    return line;
  });
  writeFileSync(join(root, 'rl', 'shadow_decisions.jsonl'), `${lines.join('\n')}\n`);
}
