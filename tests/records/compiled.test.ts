import { describe, expect, it } from 'bun:test';
import fc from 'fast-check';
import {
  equalTo,
  fieldsEncoder,
  packedUnlessUsual,
  shapeEncoder,
  USUAL,
} from '../../core/records/compiled.ts';
import { decodeShape, learnShape, same } from '../../core/records/shape.ts';
import type { Shape } from '../../core/schema/record.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The packing rule, interpreted: what the compiled encoder must agree with. */
function encodeShape(shape: Shape, value: unknown): unknown[] | null {
  if (!isObj(value)) return null;
  const out: unknown[] = [];
  let i = 0;
  for (const k in value) {
    if (k !== shape.keys[i++]) return null;
    const v = value[k];
    if (shape.const && k in shape.const) {
      if (!same(v, shape.const[k])) return null;
      continue;
    }
    const nested = shape.nested?.[k];
    const packed = nested ? encodeShape(nested, v) : null;
    if (nested && !packed && Array.isArray(v)) return null;
    out.push(packed ?? v);
  }
  return i === shape.keys.length ? out : null;
}

// Small key and value pools, so that equal values, shared key lists and constants come up often.
const key = fc.constantFrom('a', 'b', 'c', 'price', 'x y', '"q"', '__proto__x', '0');
const leaf = fc.constantFrom<unknown>(null, 0, -0, 1, 0.5, true, false, '', 'a', 'buy');
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
})).value;

/** Objects that mostly share a key list, each value often the same: what a header learns shapes from. */
const samples = fc
  .tuple(
    fc.uniqueArray(key, { minLength: 1, maxLength: 4 }),
    fc.array(fc.array(json, { minLength: 4, maxLength: 4 }), { minLength: 2, maxLength: 6 }),
  )
  .map(([keys, rows]) =>
    rows.map((row) => Object.fromEntries(keys.map((k, i) => [k, i % 2 === 0 ? row[i] : row[0]]))),
  );

describe('compiled header comparisons', () => {
  it('equalTo(c)(v) is same(v, c) for any JSON values, key order and nesting included', () => {
    fc.assert(
      fc.property(json, json, (c, v) => {
        expect(equalTo(c)(v)).toBe(same(v, c));
        expect(equalTo(c)(structuredClone(c))).toBe(same(structuredClone(c), c));
      }),
      { numRuns: 2000 },
    );
  });

  it('tells apart objects whose keys are the same but in another order', () => {
    expect(equalTo({ a: 1, b: 2 })({ b: 2, a: 1 })).toBe(false);
    expect(equalTo({ a: 1, b: 2 })({ a: 1, b: 2 })).toBe(true);
    expect(equalTo({ a: 1 })({ a: 1, b: undefined })).toBe(false);
    expect(equalTo([1, [2]])([1, [2]])).toBe(true);
    expect(equalTo([1, [2]])([1, [2], 3])).toBe(false);
    expect(equalTo(Number.NaN)(Number.NaN)).toBe(same(Number.NaN, Number.NaN));
  });

  it('shapeEncoder(shape)(v) packs exactly as encodeShape(shape, v) does, for learnt shapes and values off them', () => {
    fc.assert(
      fc.property(samples, json, (rows, other) => {
        const shape = learnShape(rows);
        if (!shape) return;
        const encode = shapeEncoder(shape);
        for (const v of [...rows, other, { ...rows[0], extra: 1 }]) {
          const packed = encode(v);
          expect(packed).toEqual(encodeShape(shape, v));
          if (packed) expect(same(decodeShape(shape, packed), v)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('packedUnlessUsual(shape, usual)(v) is USUAL when same(v, usual), else the packing, for usual values on and off the shape', () => {
    fc.assert(
      fc.property(samples, json, fc.nat(), (rows, other, pick) => {
        const shape = learnShape(rows);
        if (!shape) return;
        // The usual value: one of the rows (it fits the shape), or any value at all.
        for (const usual of [rows[pick % rows.length], other, null]) {
          const encode = packedUnlessUsual(shape, usual);
          for (const v of [...rows, other, null, { ...rows[0], extra: 1 }, structuredClone(usual)]) {
            const expected = same(v, usual) ? USUAL : encodeShape(shape, v);
            expect(encode(v)).toEqual(expected);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps a key that is not an identifier out of the generated code', () => {
    const hostile = '"]; throw new Error("injected"); //';
    const encode = shapeEncoder({ keys: [hostile, 'b'], const: { b: null } });
    expect(encode({ [hostile]: 1, b: null })).toEqual([1]);
    const fused = packedUnlessUsual({ keys: [hostile, 'b'] }, { [hostile]: 1, b: 2 });
    expect(fused({ [hostile]: 1, b: 2 })).toBe(USUAL);
    expect(fused({ [hostile]: 1, b: 3 })).toEqual([1, 3]);
    expect(equalTo({ [hostile]: 1 })({ [hostile]: 1 })).toBe(true);
  });

  it('writes each field that is not the usual one under its line key, packed when the packing fits', () => {
    const hostile = '"]; throw new Error("injected"); //';
    const encode = fieldsEncoder([
      { key: 'market', lineKey: 'market', pack: shapeEncoder({ keys: ['price'] }) },
      { key: 'model_trace', lineKey: 'models', usual: equalTo([]) },
      { key: hostile, lineKey: hostile },
    ]);
    const out: Record<string, unknown> = {};
    encode({ market: { price: 1 }, model_trace: [], [hostile]: null }, out);
    expect(out).toEqual({ market: [1], [hostile]: null });
    const other: Record<string, unknown> = {};
    encode({ market: { price: 1, extra: 2 }, model_trace: [{ a: 1 }] }, other);
    expect(other).toEqual({ market: { price: 1, extra: 2 }, models: [{ a: 1 }], [hostile]: undefined });
  });
});
