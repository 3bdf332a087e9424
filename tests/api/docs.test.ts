import { describe, expect, it } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_RATE_LIMITS } from '../../core/api/config.ts';
import { API_ERRORS } from '../../core/api/http.ts';
import { REPO } from '../support/cli.ts';
import { testServer } from './_support.ts';

const readme = readFileSync(join(REPO, 'README.md'), 'utf8');

describe('the README documents the API that is served', () => {
  it('names every error code with its status', () => {
    for (const [code, status] of Object.entries(API_ERRORS)) {
      const row = readme.split('\n').find((l) => l.includes(`\`${code}\``) && l.startsWith('|'));
      expect(row, code).toBeDefined();
      expect(row!, code).toContain(String(status));
    }
  });

  it('lists every route the server answers, and the server answers every route it lists', async () => {
    await using s = await testServer();
    const notFound = (await (await fetch(`${s.url}/nope`)).json()) as { error: { hint: string } };
    const served = notFound.error.hint.replace('routes: ', '').split(', ');
    const documented = [...readme.matchAll(/^\| `(GET|POST|WS) (\/[^`]*)` \|/gm)].map(
      (m) => `${m[1] === 'WS' ? 'GET' : m[1]} ${m[2]}`,
    );
    expect(documented.sort()).toEqual(served.sort());
  });

  it('states each default rate limit', () => {
    for (const [bucket, rule] of Object.entries(DEFAULT_RATE_LIMITS)) {
      expect(readme).toContain(`| \`${bucket}\` |`);
      expect(readme).toMatch(
        new RegExp(`\\| \`${bucket}\` \\|[^\\n]*\\| ${rule.limit} / ${rule.window_s} s \\|`),
      );
    }
  });
});
