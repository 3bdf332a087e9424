import { describe, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatOperatorError } from '../../core/errors.ts';
import { pathError } from '../../core/fsx/path-fault.ts';
import { tempDir } from '../support/cli.ts';

/** The error a failed filesystem call raises, as Node and Bun raise it. */
function errno(code: string, path: string, syscall = 'open'): Error {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, path, syscall });
}

describe('pathError', () => {
  it('names a Windows path as it is, one backslash per separator', () => {
    const err = pathError(errno('EISDIR', 'C:\\atl\\rl\\shadow_decisions.jsonl'))!;
    expect(err.exitCode).toBe(3);
    expect(formatOperatorError(err)).toContain('C:\\atl\\rl\\shadow_decisions.jsonl is a directory');
    expect(formatOperatorError(err)).not.toContain('\\\\');
  });

  it('keeps the printed message one line when the path holds control characters', () => {
    const line = formatOperatorError(pathError(errno('ENOTDIR', '/tmp/a\nb\u0000c'))!);
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain('/tmp/a\\u000ab\\u0000c');
  });

  it('maps a real ENOTDIR (a file where a directory belongs), and leaves other errors alone', () => {
    using dir = tempDir();
    const file = join(dir.path, 'rl');
    writeFileSync(file, '');
    let raised: unknown;
    try {
      writeFileSync(join(file, 'state.json'), '{}');
    } catch (err) {
      raised = err;
    }
    expect(formatOperatorError(pathError(raised)!)).toContain(
      `${join(file, 'state.json')} runs through a file`,
    );
    expect(pathError(new Error('something else'))).toBeNull();
    expect(pathError(errno('EIO', file))).toBeNull();
  });
});
