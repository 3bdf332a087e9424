import { join } from 'node:path';
import type { Static, TSchema } from '@sinclair/typebox';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type { CONTRACTS } from './contracts.ts';

export type ContractName = keyof typeof CONTRACTS;
export type ContractValue<K extends ContractName> = Static<(typeof CONTRACTS)[K]>;

let runtimeAjv: Ajv | null = null;

/**
 * The single Ajv instance, built on first use. File contracts (schemas with an `$id` listed in
 * contracts.ts) use validators generated ahead of time, so hot verbs such as `status` load
 * neither the schema compiler nor the schema builder.
 */
export function ajv(): Ajv {
  if (!runtimeAjv) {
    const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
    const addFormats = (require('ajv-formats') as { default: (a: Ajv) => void }).default;
    runtimeAjv = new AjvClass({ allErrors: true, strict: false });
    addFormats(runtimeAjv);
  }
  return runtimeAjv;
}

const GENERATED_DIR = join(import.meta.dir, 'generated');
const generated = new Map<string, ValidateFunction | null>();
const compiled = new WeakMap<TSchema, ValidateFunction>();

/** A contract's generated validator (core/schema/generated/<name>.js), loaded on first use. */
function loadGenerated(name: string): ValidateFunction | null {
  let fn = generated.get(name);
  if (fn === undefined) {
    try {
      fn = (require(join(GENERATED_DIR, `${name}.js`)) as { validate: ValidateFunction }).validate;
    } catch {
      fn = null;
    }
    generated.set(name, fn);
  }
  return fn;
}

/** The generated validator of a file contract, by name. */
export function contractValidator<K extends ContractName>(name: K): ValidateFunction<ContractValue<K>> {
  const fn = loadGenerated(name);
  if (!fn) throw new Error(`no generated validator for contract ${name}; run \`bun run schemas\``);
  return fn as ValidateFunction<ContractValue<K>>;
}

export function validatorFor<T extends TSchema>(schema: T): ValidateFunction<Static<T>> {
  const id = (schema as { $id?: string }).$id;
  let fn = (id ? loadGenerated(id) : null) ?? compiled.get(schema);
  if (!fn) {
    fn = ajv().compile(schema);
    compiled.set(schema, fn);
  }
  return fn as ValidateFunction<Static<T>>;
}

/** Field errors as short strings: `/market/price must be number`. */
export function describeErrors(errors: ErrorObject[] | null | undefined, limit = 5): string[] {
  return (errors ?? []).slice(0, limit).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

export type Validation<T> = { ok: true; value: T } | { ok: false; errors: string[] };

function check<T>(fn: ValidateFunction<T>, value: unknown): Validation<T> {
  return fn(value) ? { ok: true, value: value as T } : { ok: false, errors: describeErrors(fn.errors) };
}

export function validate<T extends TSchema>(schema: T, value: unknown): Validation<Static<T>> {
  return check(validatorFor(schema), value);
}

export function validateContract<K extends ContractName>(
  name: K,
  value: unknown,
): Validation<ContractValue<K>> {
  return check(contractValidator(name), value);
}
