/** Runs `scanRange` on its own thread so the two halves of a large log are read at once. */
import { scanRange } from './scan-range.ts';
import type { DayWindow } from './windows.ts';

declare const self: Worker;

export type RangeRequest = {
  path: string;
  window: DayWindow;
  start: number;
  end: number;
  recentLimit: number;
};

self.onmessage = (event: MessageEvent<RangeRequest>) => {
  const { path, window, start, end, recentLimit } = event.data;
  self.postMessage(scanRange(path, window, start, end, recentLimit));
};
