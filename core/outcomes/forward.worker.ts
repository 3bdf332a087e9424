/**
 * The outcome recorder's thread: a `ForwardReturns` fed by the engine's batches (see
 * forward-thread.ts), so forward returns are resolved, serialised and written on the second core.
 * After a failure the thread stops for good and answers every later request with that error.
 */
import { serveRequests } from '../fsx/writer-thread.ts';
import type { ActionName } from '../schema/common.ts';
import { ForwardReturns, type ForwardState } from './forward.ts';
import { type Batch, type ForwardReply, type ForwardRequest, KIND, NO_NAME } from './forward-thread.ts';

let sink: ForwardReturns | null = null;
/** The engine's names, by index (each batch extends them). */
const names: string[] = [];

function replay(m: Batch): void {
  const { kinds, nums, n } = m;
  const units = Buffer.from(m.units);
  let at = 0;
  const text = (len: number) => {
    const s = units.toString('utf16le', at, at + 2 * len);
    at += 2 * len;
    return s;
  };
  const name = (i: number) => (i === NO_NAME ? null : names[i]!);
  names.push(...m.names);
  let ni = 0;
  for (let i = 0; i < n; i++) {
    const k = kinds[i];
    if (k === KIND.decided) {
      sink!.decided(
        names[nums[ni + 4]!]!,
        names[nums[ni + 8]!]!,
        names[nums[ni + 9]!]!,
        nums[ni]!,
        nums[ni + 1]!,
        nums[ni + 2]!,
        nums[ni + 3]!,
        names[nums[ni + 5]!] as ActionName,
        name(nums[ni + 6]!) as ActionName | null,
        name(nums[ni + 7]!),
      );
      ni += 10;
    } else if (k === KIND.bar) {
      sink!.bar(names[nums[ni + 3]!]!, nums[ni]!, nums[ni + 1]!, nums[ni + 2]!);
      ni += 4;
    } else {
      const id = text(nums[ni]!);
      sink!.line(id, names[nums[ni + 1]!]!, text(nums[ni + 2]!));
      ni += 3;
    }
  }
}

serveRequests<ForwardRequest>((m) => {
  switch (m.type) {
    case 'open':
      sink = new ForwardReturns(m.path, m.rotation);
      break;
    case 'restore':
      sink!.restore(m.saved as ForwardState | null);
      break;
    case 'batch':
      replay(m);
      // The arrays go back to the engine for the next batches.
      postMessage(
        {
          type: 'consumed',
          pendingBytes: sink!.pendingBytes(),
          kinds: m.kinds,
          nums: m.nums,
          units: m.units,
        } satisfies ForwardReply,
        [m.kinds.buffer as ArrayBuffer, m.nums.buffer as ArrayBuffer, m.units],
      );
      break;
    case 'checkpoint':
      sink!.checkpoint();
      postMessage({ type: 'done', id: m.id, state: sink!.state() } satisfies ForwardReply);
      break;
    case 'close':
      sink!.close();
      postMessage({ type: 'done', id: m.id, state: null } satisfies ForwardReply);
      break;
  }
});
