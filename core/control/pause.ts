import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { readJsonFile } from '../fsx/json-file.ts';
import type { DataPaths } from '../paths.ts';

const Control = Type.Object({
  paused: Type.Boolean(),
  reason: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});

export function controlPath(paths: DataPaths): string {
  return join(paths.root, 'unified_trading', 'control.json');
}

/** The operator's pause switch (`unified_trading/control.json`): holds every symbol, keeps positions. */
export function readPause(paths: DataPaths): { reason: string } | null {
  const path = controlPath(paths);
  if (!existsSync(path)) return null;
  const read = readJsonFile(path, Control);
  if (read.kind === 'invalid') return { reason: `control_file_unreadable` };
  if (read.kind === 'ok' && read.value.paused) return { reason: read.value.reason || 'paused' };
  return null;
}
