/**
 * `same(·, c)` and a shape's packing compiled for one header value or shape: a function of
 * its own per value, so each property read sees the one object layout the engine writes at that
 * place (the generic versions see every layout of every field and run on slow, megamorphic
 * lookups; the decision log calls them for each field of each line). Keys enter the generated
 * source only as JSON string literals; values stay out of it, passed in by reference.
 */
import type { Shape } from '../schema/record.ts';

export type Test = (v: unknown) => boolean;
export type Encode = (v: unknown) => unknown[] | null;
type Obj = Record<string, unknown>;
const isPlain = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Source reading property `k` of `of` (the key as a string literal: never code). */
const prop = (k: string, of = 'v') => `${of}[${JSON.stringify(k)}]`;

/** Source that returns `fail` unless `v` is a plain object whose own keys are exactly K, in order. */
function keyCheck(fail: string): string {
  return `if (typeof v !== 'object' || v === null || Array.isArray(v)) return ${fail};
let i = 0;
for (const k in v) { if (k !== K[i]) return ${fail}; i++; }
if (i !== K.length) return ${fail};`;
}

/** A test that is `same(v, c)` for every v: structural equality, key order included. */
export function equalTo(c: unknown): Test {
  if (typeof c !== 'object' || c === null) return (v) => v === c;
  const parts: string[] = [];
  const tests: Test[] = [];
  const values: unknown[] = [];
  const part = (value: unknown, read: string) => {
    if (typeof value !== 'object' || value === null) {
      values.push(value);
      parts.push(`${read} === C[${values.length - 1}]`);
    } else {
      tests.push(equalTo(value));
      parts.push(`T[${tests.length - 1}](${read})`);
    }
  };
  let check: string;
  let keys: string[] = [];
  if (Array.isArray(c)) {
    check = `if (!Array.isArray(v) || v.length !== ${c.length}) return false;`;
    for (let i = 0; i < c.length; i++) part(c[i], `v[${i}]`);
  } else {
    keys = Object.keys(c);
    check = keyCheck('false');
    for (const k of keys) part((c as Obj)[k], prop(k));
  }
  const body = `${check}\nreturn ${parts.length > 0 ? parts.join(' && ') : 'true'};`;
  return new Function('K', 'C', 'T', `return function equalTo(v) {\n${body}\n};`)(
    keys,
    values,
    tests,
  ) as Test;
}

/** What `packedUnlessUsual` answers for the usual value. */
export const USUAL: unique symbol = Symbol('usual');
export type PackUnlessUsual = (v: unknown) => unknown[] | null | typeof USUAL;

/**
 * A shape's packing: the positional array of `v`'s non-constant values (a nested value packed by
 * its shape when it fits; `decodeShape` reads it back), or null when `v` does not fit the shape:
 * other keys or key order, a constant that differs, or an array where a nested shape is.
 */
export function shapeEncoder(shape: Shape): Encode {
  return compileShape(shape, null) as Encode;
}

/**
 * `same(v, usual) ? USUAL : shapeEncoder(shape)(v)` in one pass: the key check and each value are
 * read once, where the two apart read them twice (a gate's observed values, a line's fields).
 */
export function packedUnlessUsual(shape: Shape, usual: unknown): PackUnlessUsual {
  return compileShape(shape, { value: usual }) as PackUnlessUsual;
}

function compileShape(shape: Shape, usual: { value: unknown } | null): Encode | PackUnlessUsual {
  const keys = shape.keys;
  const u = usual?.value;
  // A value that fits the shape can be the usual one only when that has the shape's keys, in order.
  const fits =
    isPlain(u) && Object.keys(u).length === keys.length && Object.keys(u).every((k, i) => k === keys[i]);
  // Off the shape: null, or USUAL when it is the usual value all the same.
  const fail = usual ? 'E(v) ? U : null' : 'null';
  const checks: string[] = [];
  const usualTests: string[] = [];
  const slots: string[] = [];
  const tests: Test[] = [];
  const nested: Encode[] = [];
  const values: unknown[] = [];
  keys.forEach((k, at) => {
    checks.push(`const v${at} = ${prop(k)};`);
    if (fits) {
      const c = (u as Obj)[k];
      if (typeof c !== 'object' || c === null) {
        values.push(c);
        usualTests.push(`v${at} === C[${values.length - 1}]`);
      } else {
        tests.push(equalTo(c));
        usualTests.push(`T[${tests.length - 1}](v${at})`);
      }
    }
    if (shape.const && k in shape.const) {
      tests.push(equalTo(shape.const[k]));
      checks.push(`if (!T[${tests.length - 1}](v${at})) return ${fail};`);
      return;
    }
    const inner = shape.nested?.[k];
    if (!inner) {
      slots.push(`v${at}`);
      return;
    }
    nested.push(shapeEncoder(inner));
    // A nested value that does not fit is kept whole, unless it is an array (it would read as packed).
    checks.push(`const p${at} = N[${nested.length - 1}](v${at});
if (p${at} === null && Array.isArray(v${at})) return ${fail};`);
    slots.push(`p${at} ?? v${at}`);
  });
  const isUsual = fits ? `if (${usualTests.join(' && ') || 'true'}) return U;` : '';
  const body = `${keyCheck(fail)}\n${checks.join('\n')}\n${isUsual}\nreturn [${slots.join(', ')}];`;
  const name = usual ? 'packedUnlessUsual' : 'shapeEncoder';
  return new Function('K', 'T', 'N', 'C', 'E', 'U', `return function ${name}(v) {\n${body}\n};`)(
    keys,
    tests,
    nested,
    values,
    usual ? equalTo(u) : null,
    USUAL,
  ) as Encode | PackUnlessUsual;
}

/** One top-level field a line leaves out when `usual` says it is the header's, else writes packed. */
export type FieldCodec = {
  key: string;
  lineKey: string;
  usual?: Test;
  pack?: (v: unknown) => unknown;
  /** Both in one pass, where the field has a default and a shape (`usual` and `pack` unused). */
  packUnlessUsual?: PackUnlessUsual;
};

/**
 * Writes onto `out` (under its line key) each field of `d` that is not the usual one, packed when
 * the packing fits (else as it is): the fields a line carries, in the order given.
 */
export function fieldsEncoder(fields: FieldCodec[]): (d: object, out: Obj) => void {
  const usual = fields.map((f) => f.usual);
  const pack = fields.map((f) => f.pack);
  const fused = fields.map((f) => f.packUnlessUsual);
  const body = fields
    .map((f, i) => {
      const read = prop(f.key, 'd');
      const key = JSON.stringify(f.lineKey);
      if (f.packUnlessUsual)
        return `{ const v = ${read}; const p = F[${i}](v); if (p !== S) out[${key}] = p ?? v; }`;
      const skip = f.usual ? `if (!U[${i}](v)) ` : '';
      const value = f.pack ? `P[${i}](v) ?? v` : 'v';
      return `{ const v = ${read}; ${skip}out[${key}] = ${value}; }`;
    })
    .join('\n');
  return new Function('U', 'P', 'F', 'S', `return function fieldsEncoder(d, out) {\n${body}\n};`)(
    usual,
    pack,
    fused,
    USUAL,
  ) as (d: object, out: Obj) => void;
}
