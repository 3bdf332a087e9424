import type { Static, TSchema } from '@sinclair/typebox';
import type { ErrorObject } from 'ajv';
import { validatorFor } from '../schema/ajv.ts';
import { errorResponse, type FieldError } from './http.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; response: Response };

/** ajv errors as `{ path, message }`, naming the offending field for additional-property errors too. */
export function fieldErrors(errors: ErrorObject[] | null | undefined): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors ?? []) {
    const extra = (e.params as { additionalProperty?: string }).additionalProperty;
    const path = extra !== undefined ? `${e.instancePath}/${extra}` : e.instancePath || '/';
    const message = extra !== undefined ? 'is not a known field' : (e.message ?? 'is invalid');
    if (!out.some((f) => f.path === path && f.message === message)) out.push({ path, message });
    if (out.length >= 20) break;
  }
  return out;
}

export function validationFailed(fields: FieldError[], what: string): Response {
  return errorResponse(
    'validation_failed',
    `${what} is invalid: ${fields.map((f) => `${f.path} ${f.message}`).join('; ')}`,
    { fields },
  );
}

export function check<T extends TSchema>(schema: T, value: unknown, what: string): Parsed<Static<T>> {
  const fn = validatorFor(schema);
  if (fn(value)) return { ok: true, value: value as Static<T> };
  return { ok: false, response: validationFailed(fieldErrors(fn.errors), what) };
}

/**
 * Read a JSON body: `application/json` only, at most `maxBytes` (checked on the declared length
 * first, then while streaming, so a lying or chunked client cannot push more), valid JSON, and
 * valid against the schema, unknown fields included.
 */
export async function readJsonBody<T extends TSchema>(
  req: Request,
  schema: T,
  maxBytes: number,
): Promise<Parsed<Static<T>>> {
  const type = req.headers.get('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    return {
      ok: false,
      response: errorResponse(
        'unsupported_media_type',
        'send the body as JSON with Content-Type: application/json',
      ),
    };
  }
  const tooLarge = () => ({
    ok: false as const,
    response: errorResponse('payload_too_large', `the body is larger than the ${maxBytes}-byte limit`),
  });
  const declared = Number(req.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) return tooLarge();
  const bytes = await readCapped(req, maxBytes);
  if (bytes === null) return tooLarge();
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    return {
      ok: false,
      response: errorResponse('invalid_json', `the body is not valid UTF-8 JSON (${(err as Error).message})`),
    };
  }
  return check(schema, value, 'the request body');
}

async function readCapped(req: Request, maxBytes: number): Promise<Uint8Array | null> {
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of req.body) {
    total += chunk.byteLength;
    if (total > maxBytes) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Query parameters as an object for schema validation: each name at most once, integer-valued
 * names converted to numbers (text that is not a number stays text, and the schema names it).
 */
export function queryObject<T extends TSchema>(
  url: URL,
  schema: T,
  integerNames: string[],
): Parsed<Static<T>> {
  const obj: Record<string, unknown> = {};
  const repeated: FieldError[] = [];
  for (const [name, value] of url.searchParams) {
    if (name in obj) {
      repeated.push({ path: `/${name}`, message: 'appears more than once' });
      continue;
    }
    obj[name] = integerNames.includes(name) && /^\d{1,15}$/.test(value) ? Number(value) : value;
  }
  if (repeated.length > 0) return { ok: false, response: validationFailed(repeated, 'the query') };
  return check(schema, obj, 'the query');
}
