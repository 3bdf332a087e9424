import { closeSync, existsSync, readSync } from 'node:fs';
import { openFileForReading } from '../fsx/path-fault.ts';
import { HeaderIndex, RecordReader } from '../records/reader.ts';
import { logExists, openLog } from '../records/segments.ts';
import type { VerifyFacts } from './facts.ts';

const TURNOVER_LINE = 'Paper-live turnover overrides:';
const TAIL_BYTES = 256 * 1024;

/** The last line of the engine log holding the turnover-override line, streamed (logs grow without bound). */
export function findTurnoverLine(logPath: string): VerifyFacts['turnoverLog'] {
  if (!existsSync(logPath)) return { path: logPath, exists: false, line: null };
  const fd = openFileForReading(logPath);
  try {
    const chunk = Buffer.alloc(1 << 20);
    const needle = Buffer.from(TURNOVER_LINE);
    let offset = 0;
    let carry = Buffer.alloc(0);
    let found: string | null = null;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, offset);
      if (n === 0) break;
      offset += n;
      const text = Buffer.concat([carry, chunk.subarray(0, n)]);
      const lastNl = text.lastIndexOf(0x0a);
      const whole = lastNl >= 0 ? text.subarray(0, lastNl + 1) : Buffer.alloc(0);
      carry = Buffer.from(lastNl >= 0 ? text.subarray(lastNl + 1) : text);
      const at = whole.lastIndexOf(needle);
      if (at >= 0) {
        const start = whole.lastIndexOf(0x0a, at) + 1;
        found = whole.subarray(start, whole.indexOf(0x0a, at)).toString('utf8');
      }
    }
    if (carry.includes(needle)) found = carry.toString('utf8');
    return { path: logPath, exists: true, line: found };
  } finally {
    closeSync(fd);
  }
}

/** Per symbol, how many latest decisions in a row were blocked at data_fetch (the log's last 256 KiB). */
export function readDataTail(path: string): VerifyFacts['dataTail'] {
  if (!logExists(path)) return { kind: 'missing' };
  try {
    const fd = openLog(path); // the tail may reach back into the newest archive
    let text: string;
    let start: number;
    try {
      const size = fd.end;
      start = Math.max(fd.start, size - TAIL_BYTES);
      const buf = Buffer.alloc(size - start);
      fd.read(buf, 0, buf.length, start);
      text = buf.toString('utf8');
      if (start > fd.start) {
        const skip = text.indexOf('\n') + 1;
        start += Buffer.byteLength(text.slice(0, skip));
        text = text.slice(skip);
      }
    } finally {
      fd.close();
    }
    const lines = text.split('\n');
    lines.pop(); // the unterminated fragment after the last newline, if any
    // Read forwards through the one reader (run headers followed), then judge from the newest.
    const reader = new RecordReader(new HeaderIndex(path).headerFor(start));
    const records: Array<{ symbol?: string; blocked_stage?: string | null; block_reason?: string | null }> =
      [];
    for (const line of lines) {
      try {
        const entry = reader.read(line);
        if (entry.kind === 'decision') records.push(entry.record);
      } catch {
        // a malformed line says nothing about the data pipeline
      }
    }
    const bySymbol: Record<string, { streak: number; reason: string | null; done: boolean }> = {};
    for (let i = records.length - 1; i >= 0; i--) {
      const r = records[i]!;
      if (!r.symbol) continue;
      const s = bySymbol[r.symbol] ?? { streak: 0, reason: null, done: false };
      bySymbol[r.symbol] = s;
      if (s.done) continue;
      if (r.blocked_stage === 'data_fetch') {
        s.streak++;
        s.reason ??= r.block_reason ?? null;
      } else s.done = true;
    }
    return {
      kind: 'ok',
      bySymbol: Object.fromEntries(
        Object.entries(bySymbol).map(([k, v]) => [k, { streak: v.streak, reason: v.reason }]),
      ),
    };
  } catch (err) {
    return { kind: 'invalid', problem: (err as Error).message };
  }
}
