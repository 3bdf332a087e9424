/**
 * Log retention: archives past the newest `keep` are described in the log's manifest
 * (`<stem>.retention.json`: lines, chain ends, bar range, executed decisions as a digest) and then
 * deleted, so `audit` can still vouch for what they held. segments.ts reads the manifest back.
 */
import { statSync, unlinkSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { GENESIS_HASH, hashLine } from '../engine/decision-log.ts';
import { configError } from '../errors.ts';
import { fsyncDirectory, writeJsonAtomic } from '../fsx/atomic.ts';
import { scanJsonl } from '../fsx/jsonl.ts';
import {
  RETENTION_SCHEMA_VERSION,
  type RemovedSegment,
  type RetentionManifest,
} from '../schema/retention.ts';
import { barOfLine } from './outcome-codec.ts';
import { RecordReader } from './reader.ts';
import { archivesOnDisk, crashPoint, manifestPath, readManifest } from './segments.ts';

const PREV_RE = /"prev_hash":"([0-9a-f]{64})"/;

/** XOR of sha256 over decision ids: a digest of a set that adds up across segments in any order. */
export function xorIds(ids: Iterable<string>, into: Buffer = Buffer.alloc(32)): Buffer {
  for (const id of ids) {
    const h = Bun.CryptoHasher.hash('sha256', id) as Uint8Array;
    for (let i = 0; i < 32; i++) into[i]! ^= h[i]!;
  }
  return into;
}

/** What the manifest keeps of an archive: counted from the file itself. */
function describe(path: string, seq: number, nowIso: string): RemovedSegment {
  let first: string | null = null;
  let last: Buffer | null = null;
  let firstBar: string | null = null;
  let lastBar: string | null = null;
  let headers = 0;
  const executed: string[] = [];
  // Each segment opens with its run header, so its lines expand on their own.
  const reader = new RecordReader();
  const scan = scanJsonl(path, (e) => {
    const text = e.line;
    if (first === null) first = text;
    last = Buffer.from(e.bytes);
    if (text.startsWith('{"kind":"run"')) headers++;
    const bar = barOfLine(text);
    if (bar !== null) {
      firstBar ??= bar;
      lastBar = bar;
    }
    // Only a line with its own execution, or under a header whose default is one, is parsed.
    const usual = (reader.header?.defaults as { execution?: unknown } | undefined)?.execution;
    if (!text.startsWith('{"kind":"run"') && !usual && !text.includes('"execution":{')) return;
    try {
      const entry = reader.read(text);
      if (entry.kind === 'decision' && entry.record.execution) executed.push(entry.record.decision_id);
    } catch {
      // not a decision line (an outcome file), or unreadable: nothing executed
    }
  });
  const prev = first === null ? null : (PREV_RE.exec((first as string).slice(-80))?.[1] ?? null);
  return {
    seq,
    file: basename(path),
    lines: scan.lines,
    headers,
    bytes: statSync(path).size,
    first_prev_hash: prev,
    last_hash: last === null ? GENESIS_HASH : hashLine(last),
    first_bar_ts: firstBar,
    last_bar_ts: lastBar,
    executed: executed.length,
    executed_xor: xorIds(executed).toString('hex'),
    removed_at: nowIso,
  };
}

/**
 * Keep the newest `keep` archives (0: all): the older ones are described in the manifest
 * (written atomically first), then deleted — so a crash in between leaves an archive the
 * manifest already accounts for, which the next call deletes. Returns what was removed now.
 */
export function applyRetention(
  active: string,
  keep: number,
  nowIso = new Date().toISOString(),
): RemovedSegment[] {
  const { removed, problem } = readManifest(active);
  if (problem)
    throw configError(
      `cannot apply log retention: ${problem}`,
      'restore the manifest from a backup or move it aside',
    );
  const lastRemoved = removed.at(-1)?.seq ?? 0;
  const archives = archivesOnDisk(active);
  const kept = archives.filter((a) => a.seq > lastRemoved);
  const excess = keep > 0 ? kept.slice(0, Math.max(0, kept.length - keep)) : [];
  const added = excess.map((a) => describe(a.path, a.seq, nowIso));
  if (added.length > 0) {
    writeJsonAtomic(manifestPath(active), {
      schema_version: RETENTION_SCHEMA_VERSION,
      log: basename(active),
      removed: [...removed, ...added],
    } satisfies RetentionManifest);
    crashPoint('retention:manifest', active);
  }
  const upTo = added.at(-1)?.seq ?? lastRemoved;
  const doomed = archives.filter((a) => a.seq <= upTo);
  for (const a of doomed) unlinkSync(a.path);
  if (doomed.length > 0) fsyncDirectory(dirname(active));
  return added;
}
