/**
 * The decision log's writer thread: it appends `,"prev_hash":"…"}` to each record body the
 * engine serialised, hashes the finished line (sha256, the chain) and appends it to the file,
 * so hashing and disk writes run on the second core while the engine decides.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

declare const self: Worker;

export type WriterRequest =
  | { type: 'open'; path: string; prevHash: string }
  | { type: 'records'; buffer: ArrayBuffer; ends: Int32Array }
  | { type: 'flush'; id: number; durable: boolean }
  | { type: 'close'; id: number };

export type WriterReply =
  | { type: 'consumed'; buffer: ArrayBuffer }
  | { type: 'flushed'; id: number; records: number; prevHash: string }
  | { type: 'error'; message: string; code: string | null };

const PREFIX = Buffer.from(',"prev_hash":"');
const CLOSE = Buffer.from('"}');
const OUT_BYTES = 8 << 20;

let fd: number | null = null;
let prev = '';
// After a failed write the buffer's place in the file is unknown: writing it again could glue or
// duplicate lines, so the writer stops for good and every later request gets the same error.
let broken: { message: string; code: string | null } | null = null;
let out = Buffer.allocUnsafe(OUT_BYTES);
let used = 0;
let records = 0;

function drain(): void {
  let off = 0;
  while (off < used) off += writeSync(fd!, out, off, used - off);
  used = 0;
}

function appendRecords(bytes: Uint8Array, ends: Int32Array): void {
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i]!;
    const body = end - 1 - start; // the serialised record without its closing brace
    const need = body + PREFIX.length + 64 + CLOSE.length + 1;
    if (used + need > out.length) {
      drain();
      if (need > out.length) out = Buffer.allocUnsafe(need);
    }
    const lineStart = used;
    out.set(bytes.subarray(start, start + body), used);
    used += body;
    out.set(PREFIX, used);
    used += PREFIX.length;
    used += out.write(prev, used, 'latin1');
    out.set(CLOSE, used);
    used += CLOSE.length;
    prev = Bun.CryptoHasher.hash('sha256', out.subarray(lineStart, used), 'hex') as string;
    out[used++] = 0x0a;
    records++;
    start = end;
  }
}

self.onmessage = (event: MessageEvent<WriterRequest>) => {
  const m = event.data;
  if (broken) {
    postMessage({ type: 'error', ...broken } satisfies WriterReply);
    return;
  }
  try {
    switch (m.type) {
      case 'open':
        fd = openSync(m.path, 'a', 0o644);
        prev = m.prevHash;
        break;
      case 'records':
        appendRecords(new Uint8Array(m.buffer), m.ends);
        // The chunk goes back to the engine for reuse, so memory stays bounded by the chunks in flight.
        postMessage({ type: 'consumed', buffer: m.buffer } satisfies WriterReply, [m.buffer]);
        break;
      case 'flush':
      case 'close':
        drain();
        if (m.type === 'close' || m.durable) fsyncSync(fd!);
        postMessage({ type: 'flushed', id: m.id, records, prevHash: prev } satisfies WriterReply);
        records = 0;
        if (m.type === 'close') {
          closeSync(fd!);
          fd = null;
        }
        break;
    }
  } catch (err) {
    broken = { message: (err as Error).message, code: (err as NodeJS.ErrnoException).code ?? null };
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        // already failing; the first error is the one reported
      }
      fd = null;
    }
    postMessage({ type: 'error', ...broken } satisfies WriterReply);
  }
};
