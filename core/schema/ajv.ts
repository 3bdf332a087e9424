import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/** The single Ajv instance every file contract and API body is compiled by. */
export const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);

const compiled = new WeakMap<TSchema, ValidateFunction>();

export function validatorFor<T extends TSchema>(schema: T): ValidateFunction<Static<T>> {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn as ValidateFunction<Static<T>>;
}

/** Field errors as short strings: `/market/price must be number`. */
export function describeErrors(errors: ErrorObject[] | null | undefined, limit = 5): string[] {
  return (errors ?? []).slice(0, limit).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

export type Validation<T> = { ok: true; value: T } | { ok: false; errors: string[] };

export function validate<T extends TSchema>(schema: T, value: unknown): Validation<Static<T>> {
  const fn = validatorFor(schema);
  return fn(value) ? { ok: true, value: value as Static<T> } : { ok: false, errors: describeErrors(fn.errors) };
}
