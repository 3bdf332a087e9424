import { describe, expect, it } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTRACTS } from '../../core/schema/contracts.ts';
import { GENERATED_DIR, renderStandaloneValidators } from '../../core/schema/standalone.ts';

describe('file contract validators', () => {
  it('the committed generated validators match the schemas (run `bun run schemas` after changing one)', () => {
    const rendered = renderStandaloneValidators();
    expect(Object.keys(rendered).sort()).toEqual(
      Object.keys(CONTRACTS)
        .map((n) => `${n}.js`)
        .sort(),
    );
    for (const [file, source] of Object.entries(rendered)) {
      expect(readFileSync(join(GENERATED_DIR, file), 'utf8')).toBe(source);
    }
  });

  it('every contract schema carries its name as $id, which is how readers find the generated validator', () => {
    for (const [name, schema] of Object.entries(CONTRACTS))
      expect((schema as { $id?: string }).$id).toBe(name);
  });
});
