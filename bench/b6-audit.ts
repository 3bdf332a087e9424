/**
 * B6: `atl audit` over a decision log written by a real engine run (`atl run --mode backtest
 * --replay-file` on one-minute candles, as B1 and B3): every line hashed, parsed and schema-checked,
 * outcomes linked, ledger compared. It must stream: peak RSS is reported beside the log's size
 * and as bytes per line, at the full size and at a quarter of it (the same log cut at a line
 * boundary), so growth with the log shows. `B6_CANDLES=N` sizes it (default 1,000,000);
 * `B6_CACHE=DIR` keeps the generated log between runs.
 */
import {
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measured } from './_measure.ts';
import { replayLogOnce } from './_replay.ts';

const CANDLES = Number(process.env.B6_CANDLES ?? 1_000_000);
const dir = process.env.B6_CACHE ?? join(tmpdir(), `atl-b6-${process.pid}`);
const root = join(dir, 'root');
const quarter = join(dir, 'quarter');
const log = (r: string) => join(r, 'rl', 'shadow_decisions.jsonl');
const ready = join(dir, 'quarter-complete');

/** The byte offset just past the newline at or after `at`. */
function lineBoundary(path: string, at: number): number {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    for (let pos = at; ; pos += buf.length) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      const nl = buf.subarray(0, n).indexOf(0x0a);
      if (nl >= 0) return pos + nl + 1;
      if (n === 0) return pos;
    }
  } finally {
    closeSync(fd);
  }
}

try {
  await replayLogOnce(dir, CANDLES, root);
  if (!existsSync(ready)) {
    // A quarter of the log with the same ledger and outcomes (its audit fails the tail checks; only its memory matters).
    mkdirSync(join(quarter, 'rl'), { recursive: true });
    cpSync(join(root, 'unified_trading'), join(quarter, 'unified_trading'), { recursive: true });
    copyFileSync(log(root), log(quarter));
    truncateSync(log(quarter), lineBoundary(log(quarter), Math.floor(statSync(log(root)).size / 4)));
    writeFileSync(ready, '');
  }
  console.log(`B6 audit (every line hashed, parsed and schema-checked; outcomes; ledger; evidence)`);
  for (const [label, r] of [
    ['full', root],
    ['quarter', quarter],
  ] as const) {
    const m = await measured(['audit', '--data-dir', r, '--json']);
    if (m.code === 3) throw new Error(`audit could not read ${r}`);
    const ev = JSON.parse(m.stdout) as { details: { decisions: { lines: number; bytes: number } } };
    const { lines, bytes } = ev.details.decisions;
    console.log(
      `  ${label.padEnd(8)} ${lines.toLocaleString()} lines, ${(bytes / 2 ** 30).toFixed(2)} GiB: ${(m.wallMs / 1000).toFixed(1)} s (${Math.round(lines / (m.wallMs / 1000)).toLocaleString()} lines/s, ${(bytes / 2 ** 20 / (m.wallMs / 1000)).toFixed(0)} MiB/s), peak RSS ${m.maxRssMb.toFixed(0)} MB (${((m.maxRssMb * 2 ** 20) / lines).toFixed(0)} B/line; the log is ${(bytes / 2 ** 20 / m.maxRssMb).toFixed(0)}× that), exit ${m.code}`,
    );
  }
} finally {
  if (!process.env.B6_CACHE) rmSync(dir, { recursive: true, force: true });
}
