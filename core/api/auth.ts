import { createHash, timingSafeEqual } from 'node:crypto';
import { errorResponse } from './http.ts';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * Checks `X-API-Key` (or `Authorization: Bearer`, for Prometheus scrape configs) against the
 * configured key. Both sides are hashed first so the compare is constant-time and length-blind.
 */
export class ApiKeyGuard {
  private readonly expected: Buffer | null;

  constructor(configuredKey: string | null) {
    this.expected = configuredKey ? digest(configuredKey) : null;
  }

  get configured(): boolean {
    return this.expected !== null;
  }

  /** null when the caller may pass; otherwise the response that refuses it (the key is never echoed). */
  check(req: Request): Response | null {
    if (!this.expected) {
      return errorResponse(
        'auth_not_configured',
        'this server has no API key configured, so protected routes are closed',
        {
          hint: 'set ATL_API_KEY (or api_key in config/api.json under the data root) and restart `npx atl serve`',
        },
      );
    }
    const supplied = suppliedKey(req);
    if (supplied === null) {
      return errorResponse('unauthorized', 'missing API key: send it in the X-API-Key header', {
        headers: { 'www-authenticate': 'ApiKey realm="atl", header="X-API-Key"' },
      });
    }
    if (!timingSafeEqual(digest(supplied), this.expected)) {
      return errorResponse('forbidden', 'the API key is not valid for this server');
    }
    return null;
  }
}

function suppliedKey(req: Request): string | null {
  const header = req.headers.get('x-api-key');
  if (header !== null && header !== '') return header;
  const auth = req.headers.get('authorization');
  const bearer = auth?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  return bearer ?? null;
}
