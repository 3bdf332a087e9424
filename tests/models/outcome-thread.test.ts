import { describe, expect, it } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ForwardReturns, type ForwardSink, type ForwardState } from '../../core/outcomes/forward.ts';
import { ForwardThread } from '../../core/outcomes/forward-thread.ts';
import { NO_ROTATION, type RotationPolicy } from '../../core/records/segments.ts';
import type { ActionName } from '../../core/schema/common.ts';
import { tempDir } from '../support/cli.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);

/** One call a recorder makes on its sink, as the engine would (bars in time order per symbol). */
type Call =
  | {
      k: 'decided';
      sym: number;
      bar: number;
      price: number;
      action: ActionName;
      signal: boolean;
      shadow: string | null;
    }
  | { k: 'bar'; sym: number; bar: number; price: number }
  | { k: 'line'; bar: number; text: string }
  | { k: 'checkpoint' };

const SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'ŠOL/ÜSDT'];
const call: fc.Arbitrary<Call> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant('decided' as const),
      sym: fc.nat(2),
      bar: fc.nat(3),
      price: fc.double({ min: 1, max: 1e5, noNaN: true }),
      action: fc.constantFrom<ActionName>('hold', 'buy', 'sell'),
      signal: fc.boolean(),
      shadow: fc.constantFrom(null, 'long', 'flat', 'short'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('bar' as const),
      sym: fc.nat(2),
      bar: fc.nat(3),
      price: fc.double({ min: 1, max: 1e5, noNaN: true }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('line' as const), bar: fc.nat(3), text: fc.string() }) },
  { weight: 1, arbitrary: fc.constant({ k: 'checkpoint' as const }) },
);

/** Feed the calls to a sink (bar numbers advance per symbol by the call's step), return each checkpoint's state and the file. */
async function drive(sink: ForwardSink, path: string, calls: Call[], saved: ForwardState | null = null) {
  sink.restore(saved);
  const at = [0, 0, 0];
  const states: ForwardState[] = [];
  let n = 0;
  for (const [i, c] of calls.entries()) {
    if (i % 1000 === 999) await sink.backpressure?.(); // as the engine does between its batches
    if (c.k === 'checkpoint') {
      await sink.checkpoint();
      states.push(JSON.parse(JSON.stringify(sink.state())));
      continue;
    }
    if (c.k === 'line') {
      sink.line(`trade-${n++}`, 'trade', JSON.stringify({ kind: 'trade', note: c.text }));
      continue;
    }
    at[c.sym]! += c.bar; // 0: the same bar again (a halt's second decision, a replayed bar)
    const closeTs = T0 + (at[c.sym]! + 1) * MIN;
    if (c.k === 'bar') sink.bar(SYMBOLS[c.sym]!, closeTs, closeTs - MIN, c.price);
    else
      sink.decided(
        SYMBOLS[c.sym]!,
        `bt-${c.sym}-`,
        `:${n++}`,
        closeTs,
        closeTs - MIN,
        c.price,
        c.price,
        c.action,
        c.signal ? c.action : null,
        c.shadow,
      );
  }
  await sink.checkpoint();
  states.push(JSON.parse(JSON.stringify(sink.state())));
  await sink.close();
  return { states, file: existsSync(path) ? readFileSync(path, 'utf8') : '' };
}

/** Every file in a directory (the active file and its archives), by name. */
const segments = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
  );

/** `n` hold decisions on BTC/USDT at flat prices, one a minute from the bar closing at `t`. */
function holds(sink: ForwardSink, t: number, n: number): void {
  for (let i = 0; i < n; i++)
    sink.decided('BTC/USDT', 'd-', `:${i}`, t + i * MIN, t + (i - 1) * MIN, 100, 100, 'hold', null, null);
}

describe('the outcome recorder on its own thread', () => {
  for (const [what, rotation] of [
    ['', NO_ROTATION],
    [', rotating every 2 kB', { maxBytes: 2000, keep: 0 }],
  ] as [string, RotationPolicy][])
    it(`writes the files and checkpoints the state the recorder beside the engine does, for any calls${what}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(call, { maxLength: 300 }), async (calls) => {
          using dir = tempDir();
          mkdirSync(join(dir.path, 'a'));
          mkdirSync(join(dir.path, 'b'));
          const here = join(dir.path, 'a', 'o.jsonl');
          const there = join(dir.path, 'b', 'o.jsonl');
          const a = await drive(new ForwardReturns(here, rotation), here, calls);
          const b = await drive(new ForwardThread(there, rotation), there, calls);
          expect(b.file).toBe(a.file);
          expect(segments(join(dir.path, 'b'))).toEqual(segments(join(dir.path, 'a')));
          expect(b.states.map((s) => s.pending)).toEqual(a.states.map((s) => s.pending));
          expect(b.states.map((s) => s.file_bytes)).toEqual(a.states.map((s) => s.file_bytes));
        }),
        { numRuns: 25 },
      );
    });

  it('carries many batches (more than are let in flight at once), and texts longer than a batch holds, in order', async () => {
    using dir = tempDir();
    const here = join(dir.path, 'here.jsonl');
    const there = join(dir.path, 'there.jsonl');
    const calls: Call[] = [];
    for (let i = 0; i < 60_000; i++)
      calls.push({
        k: 'decided',
        sym: i % 3,
        bar: 1,
        price: 100 + (i % 17),
        action: 'hold',
        signal: false,
        shadow: 'long',
      });
    calls.push({ k: 'line', bar: 0, text: 'x'.repeat(400_000) });
    const a = await drive(new ForwardReturns(here), here, calls);
    const b = await drive(new ForwardThread(there, NO_ROTATION), there, calls);
    expect(b.file.length).toBeGreaterThan(400_000);
    expect(b.file).toBe(a.file);
  });

  it('resumes from a checkpoint the same way: the lines a crash left past it are not written twice', async () => {
    using dir = tempDir();
    const calls: Call[] = Array.from({ length: 60 }, (_, i) => ({
      k: 'decided' as const,
      sym: 0,
      bar: 1,
      price: 100 + i,
      action: 'hold' as const,
      signal: false,
      shadow: null,
    }));
    const run = async (make: (p: string) => ForwardSink, name: string) => {
      const path = join(dir.path, name);
      const first = await drive(make(path), path, calls.slice(0, 40));
      // The crash: lines flushed past the checkpoint the ledger committed (the first run's first state is the one kept).
      return drive(make(path), path, calls.slice(20), first.states[0]!);
    };
    const a = await run((p) => new ForwardReturns(p), 'here.jsonl');
    const b = await run((p) => new ForwardThread(p, NO_ROTATION), 'there.jsonl');
    expect(b.file).toBe(a.file);
    expect(b.states).toEqual(a.states);
  });

  it('a write the thread cannot make fails the checkpoint with the file named, and every call after it', async () => {
    using dir = tempDir();
    const path = join(dir.path, 'rl', 'decision_outcomes.jsonl');
    mkdirSync(path, { recursive: true }); // a directory where the file should be
    const sink = new ForwardThread(path, NO_ROTATION);
    sink.restore(null);
    const t = T0 + MIN;
    holds(sink, t, 30);
    const err = await sink.checkpoint().then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toContain(`outcome log ${path}:`);
    expect(() => sink.bar('BTC/USDT', t, t - MIN, 1)).toThrow(err!.message);
    await expect(sink.checkpoint()).rejects.toThrow(err!.message);
    sink.abandon();
  });

  it('abandoned, writes nothing it held', async () => {
    using dir = tempDir();
    const path = join(dir.path, 'o.jsonl');
    writeFileSync(path, '');
    const sink = new ForwardThread(path, NO_ROTATION);
    sink.restore(null);
    const t = T0 + MIN;
    holds(sink, t, 30);
    sink.abandon();
    await Bun.sleep(50);
    expect(readFileSync(path, 'utf8')).toBe('');
  });
});
