/**
 * The decision log's writer thread: it appends `,"prev_hash":"…"}` to each record body the
 * engine serialised, hashes the finished line (sha256, the chain) and appends it to the file,
 * so hashing and disk writes run on the second core while the engine decides.
 *
 * Rotation happens here, between two lines: once the active file holds `maxBytes`, it is
 * fsync'd, closed and renamed to the next archive, and the new active file starts with the
 * run header again (chained to the archive's last line), so every segment expands on its own.
 * The check is made per line, so where a log rotates depends only on its content. Old archives
 * are removed by the engine after a ledger commit (`applyRetention`), never here: an archive may
 * hold decisions past the last checkpoint, which a resume must still find.
 */
import { closeSync, fstatSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { readLastLine } from '../fsx/jsonl.ts';
import { serveRequests, type ThreadError } from '../fsx/writer-thread.ts';
import { applyRetention } from '../records/retention.ts';
import { crashPoint, NO_ROTATION, type RotationPolicy, rotateActive } from '../records/segments.ts';

export type WriterRequest =
  | { type: 'open'; path: string; prevHash: string; rotation?: RotationPolicy }
  | { type: 'records'; buffer: ArrayBuffer; ends: Int32Array }
  | { type: 'flush'; id: number; durable: boolean }
  | { type: 'close'; id: number };

export type WriterReply =
  | { type: 'consumed'; buffer: ArrayBuffer }
  | { type: 'flushed'; id: number; records: number; prevHash: string; rotated: string[] }
  | ThreadError;

const PREFIX = Buffer.from(',"prev_hash":"');
const CLOSE = Buffer.from('"}');
const OUT_BYTES = 8 << 20;

let fd: number | null = null;
let prev = '';
let out = Buffer.allocUnsafe(OUT_BYTES);
let used = 0;
let records = 0;
let path = '';
let policy: RotationPolicy = NO_ROTATION;
/** Bytes of the active file written so far (`used` more are buffered). */
let fileBytes = 0;
/** Records (not headers) in the active file: a file holding only a header never rotates. */
let recordsInFile = 0;
/** The latest run header's body (without its chain field), repeated at the top of each new file. */
let header: Buffer | null = null;
let rotated: string[] = [];
const HEADER_START = Buffer.from('{"kind":"run"');

function drain(): void {
  let off = 0;
  while (off < used) off += writeSync(fd!, out, off, used - off);
  fileBytes += used;
  used = 0;
}

/** One line: `body` (a record without its closing brace), the chain field, the newline. */
function appendLine(body: Uint8Array): void {
  const need = body.length + PREFIX.length + 64 + CLOSE.length + 1;
  if (used + need > out.length) {
    drain();
    if (need > out.length) out = Buffer.allocUnsafe(need);
  }
  const lineStart = used;
  out.set(body, used);
  used += body.length;
  out.set(PREFIX, used);
  used += PREFIX.length;
  used += out.write(prev, used, 'latin1');
  out.set(CLOSE, used);
  used += CLOSE.length;
  prev = Bun.CryptoHasher.hash('sha256', out.subarray(lineStart, used), 'hex') as string;
  out[used++] = 0x0a;
}

/** Close the full file as an archive and start the next one (see the module comment). */
function rotate(nextIsHeader: boolean): void {
  drain();
  fsyncSync(fd!);
  closeSync(fd!);
  fd = null;
  crashPoint('rotate:synced', path);
  rotated.push(rotateActive(path));
  fd = openSync(path, 'a', 0o644);
  fileBytes = 0;
  recordsInFile = 0;
  crashPoint('rotate:opened', path);
  if (header && !nextIsHeader) appendLine(header); // not a record: not counted
}

function appendRecords(bytes: Uint8Array, ends: Int32Array): void {
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i]!;
    const body = bytes.subarray(start, end - 1); // the serialised record without its closing brace
    const isHeader = startsWith(body, HEADER_START);
    if (policy.maxBytes > 0 && recordsInFile > 0 && fileBytes + used >= policy.maxBytes) rotate(isHeader);
    appendLine(body);
    if (isHeader) header = Buffer.from(body);
    else recordsInFile++;
    records++;
    start = end;
  }
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

serveRequests<WriterRequest>(
  (m) => {
    switch (m.type) {
      case 'open':
        path = m.path;
        policy = m.rotation ?? NO_ROTATION;
        applyRetention(path, 0); // finishes a removal a crash interrupted
        fd = openSync(m.path, 'a', 0o644);
        prev = m.prevHash;
        fileBytes = fstatSync(fd).size;
        recordsInFile = fileBytes > 0 && !readLastLine(path)?.startsWith('{"kind":"run"') ? 1 : 0;
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
        postMessage({ type: 'flushed', id: m.id, records, prevHash: prev, rotated } satisfies WriterReply);
        records = 0;
        rotated = [];
        if (m.type === 'close') {
          closeSync(fd!);
          fd = null;
        }
        break;
    }
  },
  () => {
    // After a failed write the buffer's place in the file is unknown: the file is closed for good.
    const open = fd;
    fd = null;
    if (open !== null) closeSync(open);
  },
);
