/**
 * TypeBox spells `Nullable(X)` and unions of literals as `anyOf`, and ajv with `allErrors`
 * generates a full error-collecting branch per alternative: that made the generated validators
 * ~3× larger than needed, and loading and first-running them was most of `atl status`'s
 * start-up. Before code generation the same constraints are restated in the shapes ajv compiles
 * tightly — `anyOf` of plain types becomes a `type` list, a union of string literals an `enum`.
 * Only rewrites that accept exactly the same documents are made; the schema source is unchanged.
 */
type Json = Record<string, unknown>;

// Keywords that constrain a value whatever its type: a branch carrying one cannot be folded into
// a `type` list, since it would then apply to the other branches' types as well.
const ANY_TYPE = new Set(['const', 'enum', 'anyOf', 'oneOf', 'allOf', 'not', '$ref', 'if', 'then', 'else']);

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `[{const:'a',type:'string'}, …]` → `['a', …]`, or null when a branch is anything else. */
function stringLiterals(branches: Json[]): string[] | null {
  const out: string[] = [];
  for (const b of branches) {
    const keys = Object.keys(b);
    if (b.type !== 'string' || typeof b.const !== 'string' || keys.some((k) => k !== 'type' && k !== 'const'))
      return null;
    out.push(b.const);
  }
  return out;
}

/** Distinct single types, at most one branch with type-specific keywords: one schema with a `type` list. */
function typeList(branches: Json[]): Json | null {
  const types = branches.map((b) => b.type);
  if (types.some((t) => typeof t !== 'string') || new Set(types).size !== types.length) return null;
  if (types.includes('integer') && types.includes('number')) return null;
  const rich = branches.filter((b) => Object.keys(b).some((k) => k !== 'type'));
  if (rich.length > 1 || rich.some((b) => Object.keys(b).some((k) => ANY_TYPE.has(k)))) return null;
  return { ...rich[0], type: types };
}

// TypeBox's `Record(String, X)`: every key matches, so it is `additionalProperties: X`, with no
// regex test per key (and keys holding a line break, which `.` skipped unchecked, are checked too).
const ANY_KEY = '^(.*)$';

function recordShape(out: Json): Json {
  const pp = out.patternProperties;
  if (!isObject(pp) || Object.keys(pp).length !== 1 || !(ANY_KEY in pp)) return out;
  if ('properties' in out || 'additionalProperties' in out) return out;
  const { patternProperties: _, ...rest } = out;
  return { ...rest, additionalProperties: pp[ANY_KEY] };
}

// Where a schema holds schemas; everything else (const, enum, default, …) is data, left alone.
const ONE = new Set([
  'additionalProperties',
  'items',
  'not',
  'contains',
  'propertyNames',
  'if',
  'then',
  'else',
]);
const LIST = new Set(['anyOf', 'oneOf', 'allOf', 'prefixItems', 'items']);
const MAP = new Set(['properties', 'patternProperties', '$defs', 'definitions']);

function child(key: string, value: unknown): unknown {
  if (LIST.has(key) && Array.isArray(value)) return value.map(codegenShape);
  if (ONE.has(key)) return codegenShape(value);
  if (MAP.has(key) && isObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, codegenShape(v)]));
  return value;
}

/** The schema restated for code generation; accepts the same documents (see the header). */
export function codegenShape(schema: unknown): unknown {
  if (!isObject(schema)) return schema;
  let out: Json = {};
  for (const [k, v] of Object.entries(schema)) out[k] = child(k, v);
  out = recordShape(out);
  const branches = out.anyOf;
  if (!Array.isArray(branches) || !branches.every(isObject) || branches.length < 2) return out;
  if ('type' in out) return out;
  const literals = stringLiterals(branches);
  const merged = literals ? { type: 'string', enum: literals } : typeList(branches);
  if (!merged || Object.keys(merged).some((k) => k in out && k !== 'anyOf')) return out;
  const { anyOf: _, ...rest } = out;
  return { ...rest, ...merged };
}
