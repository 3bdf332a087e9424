import { isIP, isIPv6 } from 'node:net';

/** Stable error codes: clients branch on `error.code`, never on the message. */
export const API_ERRORS = {
  unauthorized: 401,
  forbidden: 403,
  auth_not_configured: 503,
  not_found: 404,
  method_not_allowed: 405,
  rate_limited: 429,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_json: 400,
  validation_failed: 400,
  invalid_cursor: 400,
  engine_not_running: 503,
  trading_halted: 409,
  not_paper_mode: 409,
  symbol_not_traded: 409,
  websocket_upgrade_required: 426,
  engine_still_running: 500,
  halt_not_written: 500,
  internal: 500,
} as const;
export type ApiErrorCode = keyof typeof API_ERRORS;

export type FieldError = { path: string; message: string };

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** `{ error: { code, message, fields?, hint? } }` with the code's status; the request id is added by the server. */
export function errorResponse(
  code: ApiErrorCode,
  message: string,
  extra: { fields?: FieldError[]; hint?: string; headers?: Record<string, string>; details?: unknown } = {},
): Response {
  const error = {
    code,
    message,
    ...(extra.fields ? { fields: extra.fields } : {}),
    ...(extra.hint ? { hint: extra.hint } : {}),
    ...(extra.details !== undefined ? { details: extra.details } : {}),
  };
  return jsonResponse({ error }, API_ERRORS[code], extra.headers);
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `X-Request-ID` when it is a safe token (it goes into logs and headers), else a fresh one. */
export function requestIdFor(req: Request): { id: string; replaced: boolean } {
  const given = req.headers.get('x-request-id');
  if (given !== null && REQUEST_ID.test(given)) return { id: given, replaced: false };
  return { id: crypto.randomUUID(), replaced: given !== null };
}

/**
 * The rate-limit identity of a caller: the socket address (an IPv6 host owns a whole /64, so it is
 * keyed by that prefix). Behind `proxies` declared reverse proxies, the address the outermost one
 * appended to `X-Forwarded-For`: counted from the right, because everything to its left was
 * written by the client and rotating it must not earn a fresh allowance.
 */
export function clientKey(req: Request, socketAddress: string | null, proxies: number): string {
  let addr = socketAddress ?? 'unknown';
  if (proxies > 0) {
    const hops = (req.headers.get('x-forwarded-for') ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    // Fewer entries than proxies: the furthest one there is (as Express's `trust proxy` hop count).
    const appended = hops[Math.max(0, hops.length - proxies)];
    if (appended && isIP(appended)) addr = appended;
  }
  if (addr.startsWith('::ffff:')) addr = addr.slice(7);
  if (isIPv6(addr)) return `${expandIPv6(addr).slice(0, 4).join(':')}::/64`;
  return addr;
}

function expandIPv6(addr: string): string[] {
  const [head = '', tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = addr.includes('::') ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t];
}
