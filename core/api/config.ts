import { statSync } from 'node:fs';
import { configError } from '../errors.ts';
import { readJsonFile } from '../fsx/json-file.ts';
import { log } from '../log.ts';
import type { DataPaths } from '../paths.ts';
import { ApiConfigFile, type RateLimitBucket, type RateLimitRule } from '../schema/api.ts';
import { thresholdsFromEnv } from '../verify/facts.ts';

export type ApiConfig = {
  apiKey: string | null;
  keySource: string | null;
  rateLimits: Record<RateLimitBucket, RateLimitRule>;
  rateLimitMaxClients: number;
  /** Reverse proxies in front of the server (0: none, X-Forwarded-For ignored). */
  trustProxy: number;
  maxBodyBytes: number;
  wsMaxBufferedBytes: number;
  /** Heartbeat age past which /health fails: env `HEARTBEAT_MAX_AGE_SECONDS`, as `atl verify` reads it. */
  heartbeatMaxAgeS: number;
  /** Buckets whose limit the config file changed, so a raised limit is visible in the start-up log. */
  overriddenBuckets: RateLimitBucket[];
};

/** Per client and route bucket; generous for probes, tight for the routes that act. */
export const DEFAULT_RATE_LIMITS: Record<RateLimitBucket, RateLimitRule> = {
  health: { limit: 600, window_s: 60 },
  metrics: { limit: 120, window_s: 60 },
  read: { limit: 120, window_s: 60 },
  orders: { limit: 30, window_s: 60 },
  emergency_stop: { limit: 10, window_s: 60 },
  stream: { limit: 30, window_s: 60 },
  // Wrong API keys per address, apart from the route buckets: guessing stays bounded however the requests are spread.
  auth_failures: { limit: 10, window_s: 60 },
};

const SPECIALS = '!@#$%^&*()_+-=[]{}|;:,.<>?';
/** Substrings that mark a placeholder or guessable key (reference §9.1, plus common template words). */
const FORBIDDEN_PARTS = [
  '123456',
  'password',
  'secret',
  'key',
  'token',
  'admin',
  'root',
  'test',
  'demo',
  'changeme',
  'example',
  'placeholder',
  'xxxx',
];

/** Why a configured key is too weak to guard an API that can halt trading; empty when it is fine. */
export function keyStrengthProblems(key: string): string[] {
  const problems: string[] = [];
  if (key.length < 16) problems.push(`shorter than 16 characters (${key.length})`);
  if (key.length > 256) problems.push('longer than 256 characters');
  if (/[^\x21-\x7e]/.test(key)) problems.push('contains spaces or non-ASCII characters');
  const classes = [
    /[A-Z]/.test(key),
    /[a-z]/.test(key),
    /[0-9]/.test(key),
    [...key].some((c) => SPECIALS.includes(c)),
  ];
  const count = classes.filter(Boolean).length;
  if (count < 3)
    problems.push(`uses ${count} of the 4 character classes (upper, lower, digit, special); needs 3`);
  const lower = key.toLowerCase();
  const found = FORBIDDEN_PARTS.filter((p) => lower.includes(p));
  if (found.length > 0) problems.push(`contains a guessable word (${found.join(', ')})`);
  return problems;
}

/**
 * The API's configuration: key from env `ATL_API_KEY`, else `config/api.json` under the data root;
 * limits from that file. A weak key or a malformed file is a configuration error (exit 78): the
 * server does not start half-protected.
 */
export function loadApiConfig(paths: DataPaths, env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const read = readJsonFile(paths.apiConfig, ApiConfigFile);
  if (read.kind === 'invalid') {
    throw configError(
      `${paths.apiConfig}: ${read.problem}`,
      'fix the file (fields: api_key, rate_limits, rate_limit_max_clients, trust_proxy, max_body_bytes, ws_max_buffered_bytes) or remove it',
    );
  }
  const file = read.kind === 'ok' ? read.value : {};
  const envKey = env.ATL_API_KEY?.trim() ? env.ATL_API_KEY : null;
  const fileKey = file.api_key?.trim() ? file.api_key : null;
  const apiKey = envKey ?? fileKey;
  const keySource = envKey ? 'env ATL_API_KEY' : fileKey ? paths.apiConfig : null;
  if (apiKey) {
    const problems = keyStrengthProblems(apiKey);
    if (problems.length > 0) {
      throw configError(
        `the API key from ${keySource} is too weak: ${problems.join('; ')}`,
        'generate one with `openssl rand -base64 32` and set ATL_API_KEY (or api_key in config/api.json)',
      );
    }
    if (!envKey) warnIfReadableByOthers(paths.apiConfig);
  }
  const overrides = file.rate_limits ?? {};
  return {
    apiKey,
    keySource,
    rateLimits: { ...DEFAULT_RATE_LIMITS, ...overrides },
    rateLimitMaxClients: file.rate_limit_max_clients ?? 10_000,
    trustProxy: file.trust_proxy === true ? 1 : file.trust_proxy === false ? 0 : (file.trust_proxy ?? 0),
    maxBodyBytes: file.max_body_bytes ?? 16 * 1024,
    wsMaxBufferedBytes: file.ws_max_buffered_bytes ?? 1024 * 1024,
    heartbeatMaxAgeS: thresholdsFromEnv(env).heartbeatMaxAgeS,
    overriddenBuckets: Object.keys(overrides) as RateLimitBucket[],
  };
}

function warnIfReadableByOthers(path: string): void {
  if (process.platform === 'win32') return;
  const mode = statSync(path).mode & 0o077;
  if (mode !== 0)
    log.warn(`${path} holds the API key and is readable by other users; run \`chmod 600 ${path}\``);
}
