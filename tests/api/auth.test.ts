import { describe, expect, it } from 'bun:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { keyStrengthProblems, loadApiConfig } from '../../core/api/config.ts';
import { OperatorError } from '../../core/errors.ts';
import { dataPaths } from '../../core/paths.ts';
import { atl, tempDir } from '../support/cli.ts';
import { GOOD_KEY, testServer } from './_support.ts';

describe('API key strength rules', () => {
  it('accepts a long key with three character classes and no guessable word', () => {
    expect(keyStrengthProblems(GOOD_KEY)).toEqual([]);
    expect(keyStrengthProblems('q8PfR2vLm9ZcX4wN7bHs')).toEqual([]);
  });

  it('names every rule a weak key breaks, without echoing the key', () => {
    const problems = keyStrengthProblems('password');
    expect(problems.join(' ')).toContain('shorter than 16');
    expect(problems.join(' ')).toContain('character classes');
    expect(problems.join(' ')).toContain('guessable word (password)');
    expect(problems.join(' ')).not.toContain("'password'");
  });

  it('rejects placeholders even when long and varied', () => {
    expect(keyStrengthProblems('ChangeMe-Please-2026!')).toContainEqual(expect.stringContaining('changeme'));
    expect(keyStrengthProblems('My-Api-Token-0987654321')).toContainEqual(expect.stringContaining('token'));
  });

  it('treats exactly 16 characters as long enough and 15 as too short', () => {
    expect(keyStrengthProblems('Aa1!Aa1!Aa1!Aa1!')).toEqual([]);
    expect(keyStrengthProblems('Aa1!Aa1!Aa1!Aa1')).toEqual(['shorter than 16 characters (15)']);
  });

  it('refuses a weak key from the config file with a configuration error (exit 78)', () => {
    using dir = tempDir();
    const paths = dataPaths(dir.path);
    mkdirSync(dirname(paths.apiConfig), { recursive: true });
    writeFileSync(paths.apiConfig, JSON.stringify({ api_key: 'abcdefghijklmnop' }), { mode: 0o600 });
    let caught: unknown;
    try {
      loadApiConfig(paths, {});
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(OperatorError);
    expect((caught as OperatorError).exitCode).toBe(78);
    expect((caught as OperatorError).message).toContain(paths.apiConfig);
  });

  it('prefers env ATL_API_KEY over the config file', () => {
    using dir = tempDir();
    const paths = dataPaths(dir.path);
    mkdirSync(dirname(paths.apiConfig), { recursive: true });
    writeFileSync(paths.apiConfig, JSON.stringify({ api_key: 'Other-Key-9876-xyz!' }), { mode: 0o600 });
    const cfg = loadApiConfig(paths, { ATL_API_KEY: GOOD_KEY });
    expect(cfg.apiKey).toBe(GOOD_KEY);
    expect(cfg.keySource).toBe('env ATL_API_KEY');
  });
});

describe('API configuration', () => {
  it('takes the heartbeat age limit from HEARTBEAT_MAX_AGE_SECONDS, as verify does, and refuses a bad one', () => {
    using dir = tempDir();
    const paths = dataPaths(dir.path);
    expect(loadApiConfig(paths, { HEARTBEAT_MAX_AGE_SECONDS: '30' }).heartbeatMaxAgeS).toBe(30);
    expect(loadApiConfig(paths, {}).heartbeatMaxAgeS).toBe(120);
    expect(() => loadApiConfig(paths, { HEARTBEAT_MAX_AGE_SECONDS: 'soon' })).toThrow(OperatorError);
  });

  it('refuses a config file with unknown fields, naming the file', () => {
    using dir = tempDir();
    const paths = dataPaths(dir.path);
    mkdirSync(dirname(paths.apiConfig), { recursive: true });
    writeFileSync(paths.apiConfig, JSON.stringify({ rate_limit: { read: 5 } }));
    expect(() => loadApiConfig(paths, {})).toThrow(paths.apiConfig);
  });
});

describe('API authentication over HTTP', () => {
  it('answers 401 with WWW-Authenticate when the key is missing', async () => {
    await using s = await testServer();
    const res = await fetch(`${s.url}/api/status`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('ApiKey');
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('unauthorized');
    expect(body.error.message).toContain('X-API-Key');
  });

  it('answers 403 for a wrong key and never echoes either key', async () => {
    await using s = await testServer();
    const res = await s.get('/api/status', { 'x-api-key': 'Wrong-Key-1234-abcd!' });
    expect(res.status).toBe(403);
    const text = await res.text();
    expect(JSON.parse(text).error.code).toBe('forbidden');
    expect(text).not.toContain('Wrong-Key');
    expect(text).not.toContain(GOOD_KEY);
  });

  it('rejects a key that differs only in length or case', async () => {
    await using s = await testServer();
    for (const key of [`${GOOD_KEY}x`, GOOD_KEY.slice(0, -1), GOOD_KEY.toLowerCase()]) {
      expect((await s.get('/api/status', { 'x-api-key': key })).status).toBe(403);
    }
  });

  it('accepts the key as a Bearer token, the form Prometheus scrape configs send', async () => {
    await using s = await testServer();
    const res = await fetch(`${s.url}/metrics`, { headers: { authorization: `Bearer ${GOOD_KEY}` } });
    expect(res.status).toBe(200);
  });

  it('closes protected routes with 503 when no key is configured, while health stays open', async () => {
    await using s = await testServer({ apiKey: null, keySource: null });
    const res = await s.get('/api/status');
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('auth_not_configured');
    expect((await fetch(`${s.url}/health/live`)).status).toBe(200);
    const ready = await fetch(`${s.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(JSON.stringify(await ready.json())).toContain('no API key configured');
  });

  it('needs the key for /metrics and the decision stream but not for the health probes', async () => {
    await using s = await testServer();
    for (const path of ['/metrics', '/api/decisions', '/ws/decisions'])
      expect((await fetch(`${s.url}${path}`)).status).toBe(401);
    for (const path of ['/health', '/health/live', '/health/ready'])
      expect((await fetch(`${s.url}${path}`)).status).not.toBe(401);
  });
});

describe('atl serve start-up', () => {
  it('exits 78 with a one-line reason when the configured key is weak', async () => {
    using dir = tempDir();
    const r = await atl(['serve', '--port', '0', '--data-dir', dir.path], {
      env: { ATL_API_KEY: 'admin123' },
    });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('too weak');
    expect(r.stderr).toContain('openssl rand');
    expect(r.stderr).not.toContain('admin123');
  });

  it('exits 64 for a port that is not a port', async () => {
    using dir = tempDir();
    for (const port of ['http', '70000', '-1']) {
      const r = await atl(['serve', '--port', port, '--data-dir', dir.path], {
        env: { ATL_API_KEY: GOOD_KEY },
      });
      expect(r.code).toBe(64);
    }
  });
});
