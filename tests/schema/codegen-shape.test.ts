import { beforeAll, describe, expect, it } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import fc from 'fast-check';
import { type ContractName, contractValidator, validateContract } from '../../core/schema/ajv.ts';
import { codegenShape } from '../../core/schema/codegen-shape.ts';
import { Nullable, UtcTimestamp } from '../../core/schema/common.ts';
import { CONTRACTS } from '../../core/schema/contracts.ts';
import { atl, REPO, tempDir } from '../support/cli.ts';
import { readDecisions, readOutcomes } from '../support/records.ts';

type Doc = Record<string, unknown>;

describe('schemas restated for code generation', () => {
  it('folds nullable types into a type list and literal unions into an enum', () => {
    expect(codegenShape(Nullable(UtcTimestamp))).toEqual({
      type: ['string', 'null'],
      pattern: UtcTimestamp.pattern,
    });
    expect(codegenShape(Type.Union([Type.Literal('a'), Type.Literal('b')]))).toEqual({
      type: 'string',
      enum: ['a', 'b'],
    });
    expect(codegenShape(Type.Record(Type.String(), Type.Number()))).toEqual({
      type: 'object',
      additionalProperties: { type: 'number' },
    });
  });

  it('leaves unions it cannot restate exactly as they are', () => {
    const twoRich = Type.Union([Type.String({ minLength: 2 }), Type.String({ pattern: '^a' })]);
    const overlapping = Type.Union([Type.Integer({ minimum: 1 }), Type.Number()]);
    const literalObject = Type.Union([Type.Object({ a: Type.Number() }), Type.Literal(3)]);
    for (const s of [twoRich, overlapping, literalObject])
      expect((codegenShape(s) as { anyOf?: unknown }).anyOf).toBeArray();
    // Data positions (const, default) are never read as schemas.
    const withDefault = Type.String({ default: { anyOf: [{ type: 'string' }, { type: 'null' }] } });
    expect(codegenShape(withDefault)).toEqual(JSON.parse(JSON.stringify(withDefault)));
  });

  describe('the generated validators accept exactly what the schemas accept', () => {
    const docs = new Map<ContractName, Doc[]>();
    beforeAll(async () => {
      using dir = tempDir('atl-shape-');
      const run = await atl(['run', '--max-bars', '60', '--data-dir', dir.path]);
      expect(run.code).toBe(0);
      const json = (p: string) => JSON.parse(readFileSync(join(dir.path, p), 'utf8')) as Doc;
      const models = join(REPO, 'data', 'models');
      docs.set('Heartbeat', [json('rl/paper_live_heartbeat.json')]);
      docs.set('EngineState', [json('unified_trading/state.json')]);
      // The contracts are the full (expanded) view the one reader gives, not the compact lines.
      docs.set('DecisionRecord', readDecisions(dir.path).slice(0, 20) as unknown as Doc[]);
      docs.set('DecisionOutcome', readOutcomes(dir.path).slice(0, 20) as unknown as Doc[]);
      docs.set(
        'ModelManifest',
        readdirSync(models)
          .filter((f) => f.endsWith('.manifest.json'))
          .map((f) => JSON.parse(readFileSync(join(models, f), 'utf8')) as Doc),
      );
    }, 60_000);

    // Values that hit each rewritten shape: null for nullables, foreign and near-miss literals
    // for enums, wrong types, fractional and negative numbers, timestamps with and without `Z`.
    const REPLACEMENTS: unknown[] = [
      null,
      0,
      -1,
      1.5,
      '',
      'x',
      'backtest',
      'REPLAY',
      'buy',
      'hold',
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:00',
      true,
      [],
      ['x'],
      {},
      { a: 1 },
    ];

    function paths(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = []) {
      out.push(at);
      if (value && typeof value === 'object')
        for (const [k, v] of Object.entries(value))
          paths(v, [...at, Array.isArray(value) ? Number(k) : k], out);
      return out;
    }

    function mutate(doc: Doc, path: (string | number)[], op: number, replacement: unknown): unknown {
      const copy = structuredClone(doc) as Doc;
      if (path.length === 0) return op === 0 ? replacement : copy;
      const parent = path.slice(0, -1).reduce<unknown>((o, k) => (o as Doc)[k], copy) as Doc;
      const key = path.at(-1)!;
      if (op === 0) parent[key] = replacement;
      else if (op === 1 && !Array.isArray(parent)) delete parent[key];
      else if (!Array.isArray(parent)) parent[`extra_${key}`] = replacement;
      return copy;
    }

    for (const name of [
      'Heartbeat',
      'EngineState',
      'DecisionRecord',
      'DecisionOutcome',
      'ModelManifest',
    ] as const) {
      it(`${name}: mutated real documents get the same verdict`, () => {
        const reference: ValidateFunction = new Ajv({ allErrors: true, strict: false }).compile(
          CONTRACTS[name],
        );
        const generated = contractValidator(name);
        const samples = docs.get(name) ?? [];
        expect(samples.length).toBeGreaterThan(0);
        for (const doc of samples) expect(generated(doc)).toBe(true);
        let rejected = 0;
        fc.assert(
          fc.property(
            fc.nat({ max: samples.length - 1 }),
            fc.nat(),
            fc.nat({ max: 2 }),
            fc.constantFrom(...REPLACEMENTS),
            (d, p, op, replacement) => {
              const doc = samples[d]!;
              const all = paths(doc);
              const candidate = mutate(doc, all[p % all.length]!, op, replacement);
              const verdict = reference(candidate);
              if (!verdict) rejected++;
              expect(generated(candidate)).toBe(verdict);
            },
          ),
          { numRuns: 2000, seed: 15 },
        );
        expect(rejected).toBeGreaterThan(100); // the mutations do reach the rewritten shapes
      });
    }
    it('a reader names each bad field once (a nullable or literal union no longer floods the first five errors)', () => {
      const doc = docs.get('Heartbeat')![0]!;
      const bad = { ...doc, mode: null, status: 'sleeping', last_bar_ts: 5 };
      const checked = validateContract('Heartbeat', bad);
      expect(checked.ok).toBe(false);
      const fields = new Set((checked.ok ? [] : checked.errors).map((e) => e.split(' ')[0]));
      expect(fields).toEqual(new Set(['/mode', '/status', '/last_bar_ts']));
    });
  });

  it('a Record key holding a line break is checked too (`^(.*)$` let it through unchecked)', () => {
    const schema = Type.Record(Type.String(), Type.Number());
    const doc = { 'a\nb': 'not a number' };
    expect(new Ajv({ strict: false }).compile(schema)(doc)).toBe(true);
    expect(new Ajv({ strict: false }).compile(codegenShape(schema) as object)(doc)).toBe(false);
  });
});
