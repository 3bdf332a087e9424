import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import type { Static, TSchema } from '@sinclair/typebox';
import { excerpt, unknownError } from '../errors.ts';
import {
  type ContractName,
  type ContractValue,
  type Validation,
  validate,
  validateContract,
} from '../schema/ajv.ts';

export type JsonFileRead<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'missing' }
  | { kind: 'invalid'; problem: string };

/**
 * Read a JSON file and check it against its schema (a TypeBox schema, or the name of a file
 * contract whose validator is generated). Missing, empty, torn and hostile files are told apart
 * so callers can say what to do; nothing here throws for bad input.
 */
export function readJsonFile<K extends ContractName>(
  path: string,
  contract: K,
): JsonFileRead<ContractValue<K>>;
export function readJsonFile<T extends TSchema>(path: string, schema: T): JsonFileRead<Static<T>>;
export function readJsonFile(path: string, schema: TSchema | ContractName): JsonFileRead<unknown> {
  if (!existsSync(path)) return { kind: 'missing' };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { kind: 'invalid', problem: `cannot read: ${excerpt((err as Error).message, 200)}` };
  }
  if (text.trim() === '') return { kind: 'invalid', problem: 'file is empty' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { kind: 'invalid', problem: `not valid JSON (${excerpt((err as Error).message, 120)})` };
  }
  const checked: Validation<unknown> =
    typeof schema === 'string' ? validateContract(schema, value) : validate(schema, value);
  return checked.ok
    ? { kind: 'ok', value: checked.value }
    : { kind: 'invalid', problem: checked.errors.join('; ') };
}

/** Like `readJsonFile`, but a corrupt file is an operator error (exit 3) naming the file. */
export function readJsonFileOrThrow<T extends TSchema>(
  path: string,
  schema: T,
  hint: string,
): Static<T> | null {
  const read = readJsonFile(path, schema);
  if (read.kind === 'missing') return null;
  if (read.kind === 'invalid') throw unknownError(`${path}: ${read.problem}`, hint);
  return read.value;
}

/**
 * Keep a damaged file beside itself, as `<name>.damaged-<time>`, before a writer replaces it: what
 * it held (a halt history, learned state) is the operator's to read, not ours to drop. The copy's
 * path, or null when there is no regular file to keep.
 */
export function keepDamagedCopy(path: string): string | null {
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) return null;
  const copy = `${path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  copyFileSync(path, copy);
  return copy;
}
