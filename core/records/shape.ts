import type { Shape } from '../schema/record.ts';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A deep copy of a JSON value (a header's value handed to a reader that may change it); far cheaper than structuredClone. */
export function copyJson<T>(v: T): T {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(copyJson) as T;
  const out: Obj = {};
  for (const k in v) out[k] = copyJson((v as Obj)[k]);
  return out as T;
}

/** Structural equality of JSON values, key order included (a v1 line is rebuilt in its own order). */
export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  // One key list, not two: this runs for every field of every line written.
  const kb = Object.keys(b);
  let i = 0;
  for (const k in a) {
    if (k !== kb[i++] || !same((a as Obj)[k], (b as Obj)[k])) return false;
  }
  return i === kb.length;
}

/**
 * The shape most of `samples` (objects) share: their most common key list, the keys whose value
 * never changes among those, and nested object keys the same way. Null when too few agree.
 */
export function learnShape(samples: unknown[]): Shape | null {
  const byKeys = new Map<string, Obj[]>();
  for (const s of samples) {
    if (!isObj(s)) continue;
    const k = Object.keys(s).join('\u0000');
    const list = byKeys.get(k);
    if (list) list.push(s);
    else byKeys.set(k, [s]);
  }
  let best: Obj[] = [];
  for (const list of byKeys.values()) if (list.length > best.length) best = list;
  if (best.length === 0) return null;
  const keys = Object.keys(best[0]!);
  const consts: Obj = {};
  const nested: Record<string, Shape> = {};
  for (const k of keys) {
    const first = best[0]![k];
    if (best.length > 1 && best.every((o) => same(o[k], first))) consts[k] = first;
    else if (isObj(first)) {
      const inner = learnShape(best.map((o) => o[k]));
      if (inner) nested[k] = inner;
    }
  }
  const shape: Shape = { keys };
  if (Object.keys(consts).length > 0) shape.const = consts;
  if (Object.keys(nested).length > 0) shape.nested = nested;
  return shape;
}

/** The object a positional array stands for. */
export function decodeShape(shape: Shape, values: unknown[]): Obj {
  const out: Obj = {};
  let i = 0;
  for (const k of shape.keys) {
    const c = shape.const;
    if (c && k in c) {
      const v = c[k];
      out[k] = copyJson(v);
      continue;
    }
    const v = values[i++];
    const nested = shape.nested?.[k];
    out[k] = nested && Array.isArray(v) ? decodeShape(nested, v) : v;
  }
  if (i !== values.length) throw new Error(`positional values do not fit the header's shape (${shape.keys})`);
  return out;
}

/** The value most samples share, when at least `share` of them do (what a line may leave out); undefined if none. */
export function commonValue(samples: unknown[], share = 0.5): { value: unknown } | undefined {
  const counts = new Map<string, { value: unknown; n: number }>();
  for (const s of samples) {
    const key = JSON.stringify(s) ?? 'undefined';
    const c = counts.get(key);
    if (c) c.n++;
    else counts.set(key, { value: s, n: 1 });
  }
  let best: { value: unknown; n: number } | undefined;
  for (const c of counts.values()) if (!best || c.n > best.n) best = c;
  return best && best.n >= samples.length * share ? { value: best.value } : undefined;
}
