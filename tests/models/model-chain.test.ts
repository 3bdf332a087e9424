import { describe, expect, it } from 'bun:test';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { Portfolio } from '../../core/broker/portfolio.ts';
import type { Bar, FeedTick } from '../../core/engine/feeds.ts';
import type { StageContext } from '../../core/engine/stages.ts';
import { FEATURE_NAMES, FEATURE_SET_ID } from '../../core/features/feature-set.ts';
import { loadModelDirectory } from '../../core/models/registry.ts';
import type { ModelSession } from '../../core/models/runtime.ts';
import { BUNDLED_MODELS_DIR } from '../../core/paths.ts';
import { IndicatorSet } from '../../core/signals/indicator-set.ts';
import { ModelSignalChain } from '../../core/signals/model-chain.ts';
import { tempDir } from '../support/cli.ts';

const HOUR = 3_600_000;

/** A model session answering every row with the same probabilities (down, flat, up). */
const fixedSession = (probs: [number, number, number]) => async (): Promise<ModelSession> => ({
  inputName: 'features',
  inputType: 'float32',
  inputShape: ['batch', FEATURE_NAMES.length],
  run: async (_x, rows) => Float32Array.from({ length: rows * 3 }, (_, i) => probs[i % 3]!),
});

/** 150 hourly bars of a steady decline, so the trend is down and the features are warm. */
function decline(): Bar[] {
  return Array.from({ length: 150 }, (_, i) => {
    const close = 200 * 0.997 ** i;
    const t = Date.UTC(2026, 0, 1) + i * HOUR;
    return {
      symbol: 'BTC/USDT',
      openTs: t,
      closeTs: t + HOUR,
      open: close / 0.997,
      high: (close / 0.997) * 1.001,
      low: close * 0.999,
      close,
      volume: 5,
      ageS: null,
    };
  });
}

async function chainWith(models: string[], open: () => Promise<ModelSession>) {
  using dir = tempDir();
  for (const id of models)
    for (const ext of ['.onnx', '.manifest.json'])
      cpSync(join(BUNDLED_MODELS_DIR, id + ext), join(dir.path, id + ext));
  const live = { featureSetId: FEATURE_SET_ID, names: FEATURE_NAMES };
  const directory = await loadModelDirectory(dir.path, live, { explicit: true, open });
  return new ModelSignalChain({
    models: directory,
    timeframe: '1h',
    timeframeMs: HOUR,
    voting: 'performance',
    minConfidence: 0.55,
    advisor: null,
  });
}

/** Feed bars as one replay chunk, then decide the last. */
async function decideLast(chain: ModelSignalChain, bars: Bar[], ind = new IndicatorSet()) {
  await chain.prepare(bars.map((b): FeedTick => ({ closeTs: b.closeTs, bars: [b], failures: [] })));
  for (const b of bars) {
    ind.update(b.high, b.low, b.close);
    chain.observe('BTC/USDT', b);
  }
  const last = bars.at(-1)!;
  const barIso = new Date(last.closeTs).toISOString();
  const ctx = {
    symbol: 'BTC/USDT',
    bar: last,
    barIso,
    decisionId: 'd',
    ind,
    portfolio: new Portfolio(1000),
  } as unknown as StageContext;
  return chain.evaluate(ctx);
}

async function lastOutcome(probs: [number, number, number], models: string[]) {
  return decideLast(await chainWith(models, fixedSession(probs)), decline());
}

const verdicts = (o: Awaited<ReturnType<typeof lastOutcome>>) =>
  o.gates.map((g) => `${g.stage}:${g.verdict}${g.reason ? `:${g.reason}` : ''}`);

describe('the model signal chain', () => {
  it('blocks a long ensemble signal in a downtrend and keeps that first blocker when no signal survives', async () => {
    const out = await lastOutcome([0.1, 0.2, 0.7], ['BTC_USDT-1h-logreg', 'BTC_USDT-1h-mlp']);
    expect(verdicts(out).slice(0, 4)).toEqual([
      'features:pass',
      'ensemble:block:ensemble_trend_blocked',
      'ml:skip:ensemble_active',
      'technical:skip:model_primary',
    ]);
    // The scalping fallback also finds nothing (ADX too strong), so the record names the ensemble, not scalping.
    expect(out.gates.find((g) => g.stage === 'scalping')?.verdict).toBe('block');
    expect(out.signal).toBeNull();
    expect(out.blocked?.reason).toBe('ensemble_trend_blocked');
    expect(out.modelTrace.map((t) => [t.model_id, t.status, t.output?.action])).toEqual([
      ['BTC_USDT-1h-logreg', 'used', 'buy'],
      ['BTC_USDT-1h-mlp', 'used', 'buy'],
    ]);
  });

  it('passes a confident short with the trend through the ensemble and the regime-adaptive threshold', async () => {
    const out = await lastOutcome([0.8, 0.1, 0.1], ['BTC_USDT-1h-logreg', 'BTC_USDT-1h-mlp']);
    expect(verdicts(out)).toContain('ensemble:pass:ensemble_short');
    expect(verdicts(out)).toContain('scalping:skip:primary_signal_present');
    expect(out.signal).toMatchObject({ action: 'short', source: 'ensemble' });
    expect(out.gates.find((g) => g.stage === 'confidence')?.verdict).toBe('pass');
    expect(out.blocked).toBeNull();
  });

  it('uses the single-model stage when exactly one model is usable, and blocks an unconvinced one at the threshold', async () => {
    const out = await lastOutcome([0.45, 0.3, 0.25], ['BTC_USDT-1h-mlp']);
    expect(verdicts(out).slice(1, 3)).toEqual(['ensemble:skip:single_model', 'ml:pass:ml_short']);
    const confidence = out.gates.find((g) => g.stage === 'confidence')!;
    expect(confidence.verdict).toBe('block');
    expect(confidence.observed).toMatchObject({ confidence: 0.45 });
    expect(out.signal).toBeNull();
    expect(out.blocked?.stage).toBe('confidence');
  });

  it('falls back to technical rules and says why when the directory has no model for the symbol', async () => {
    const out = await lastOutcome([0.8, 0.1, 0.1], []);
    expect(verdicts(out).slice(1, 3)).toEqual([
      'ensemble:skip:no_usable_models:0_skipped',
      'ml:skip:no_usable_models:0_skipped',
    ]);
    expect(out.gates.find((g) => g.stage === 'technical')?.observed).toMatchObject({ fallback: true });
    expect(out.modelTrace).toEqual([]);
  });

  it('goes on without a model whose runs fail, says why in the trace, and stops calling it once its circuit opens', async () => {
    let calls = 0;
    const flaky = async (): Promise<ModelSession> => ({
      inputName: 'features',
      inputType: 'float32',
      inputShape: ['batch', FEATURE_NAMES.length],
      run: async (_x, rows) => {
        // The load-time probe succeeds; every batch after it fails.
        if (calls++ > 0) throw new Error('onnxruntime: out of memory');
        return new Float32Array(rows * 3).fill(1 / 3);
      },
    });
    const chain = await chainWith(['BTC_USDT-1h-mlp'], flaky);
    const bars = decline();
    const ind = new IndicatorSet();
    const first = await decideLast(chain, bars.slice(0, 120), ind);
    expect(chain.circuitBreakers()).toEqual({ 'model:BTC_USDT-1h-mlp': 'closed' }); // one failure is not enough
    expect(first.modelTrace[0]).toMatchObject({
      status: 'skipped',
      skip_reason: 'model_runner_error:onnxruntime: out of memory',
    });
    expect(first.gates.find((g) => g.stage === 'technical')?.observed).toMatchObject({ fallback: true });
    for (let i = 120; i < 124; i++) await decideLast(chain, bars.slice(i, i + 1), ind);
    const callsWhenOpen = calls;
    const later = await decideLast(chain, bars.slice(124, 125), ind);
    expect(later.modelTrace[0]?.skip_reason).toBe('model_runner_circuit_open');
    expect(calls).toBe(callsWhenOpen);
    // What the heartbeat's circuit_breakers carries, for status, /metrics and verify.
    expect(chain.circuitBreakers()).toEqual({ 'model:BTC_USDT-1h-mlp': 'open' });
  });
});
