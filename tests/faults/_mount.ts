import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function sh(...cmd: string[]): { ok: boolean; err: string } {
  const r = Bun.spawnSync(cmd, { stdout: 'ignore', stderr: 'pipe' });
  return { ok: r.exitCode === 0, err: r.stderr.toString().trim() };
}

/**
 * A small tmpfs of its own (a real ENOSPC/EROFS, not an injected one), when this host lets the
 * tests mount (root on Linux). `reason` says why not otherwise, for the skip message.
 */
export function probeMount(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'tmpfs mounts need Linux' };
  const dir = mkdtempSync(join(tmpdir(), 'atl-mount-probe-'));
  try {
    const m = sh('mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir);
    if (!m.ok) return { ok: false, reason: `cannot mount a tmpfs here (${m.err || 'not root?'})` };
    sh('umount', dir);
    return { ok: true };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export class Tmpfs {
  readonly path = mkdtempSync(join(tmpdir(), 'atl-tmpfs-'));
  constructor(size: string) {
    const m = sh('mount', '-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', this.path);
    if (!m.ok) throw new Error(`mount tmpfs: ${m.err}`);
  }
  /** Grow (or shrink) in place: the files stay, as when an operator frees space. */
  resize(size: string): void {
    const m = sh('mount', '-o', `remount,size=${size}`, this.path);
    if (!m.ok) throw new Error(`remount tmpfs: ${m.err}`);
  }
  /** Make `dir` (inside) read-only through a bind mount of itself; returns the undo. */
  readOnly(dir: string): () => void {
    const a = sh('mount', '--bind', dir, dir);
    const b = a.ok ? sh('mount', '-o', 'remount,ro,bind', dir) : a;
    if (!b.ok) throw new Error(`read-only bind mount: ${b.err}`);
    return () => sh('umount', dir);
  }
  [Symbol.dispose](): void {
    sh('umount', '-l', this.path);
    rmSync(this.path, { recursive: true, force: true });
  }
}
