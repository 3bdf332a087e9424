import type { SignalOutcome, SignalStage, StageContext, StageDecl } from '../engine/stages.ts';
import { r6 } from '../round.ts';
import type { GateStage } from '../schema/decision.ts';
import { SCALPING_THRESHOLDS, scalpingSignal, TECHNICAL_THRESHOLDS, technicalSignal } from './rules.ts';

/**
 * The rule-based signal chain: technical scoring, then mean-reversion scalping as a fallback,
 * then a fixed confidence threshold. Used when no model is loaded.
 */
export class RuleSignalChain implements SignalStage {
  constructor(private readonly minConfidence: number) {}

  declareStages(): StageDecl[] {
    return [
      { stage: 'ensemble', thresholds: null },
      { stage: 'technical', thresholds: { ...TECHNICAL_THRESHOLDS } },
      { stage: 'scalping', thresholds: { ...SCALPING_THRESHOLDS } },
      { stage: 'htf_filter', thresholds: null },
      { stage: 'confidence', thresholds: { min_confidence: this.minConfidence } },
    ];
  }

  evaluate(ctx: StageContext): SignalOutcome {
    const gates: GateStage[] = [
      { stage: 'ensemble', verdict: 'skip', reason: 'no_models_loaded', observed: null, thresholds: null },
    ];
    const tech = technicalSignal(ctx.ind);
    gates.push(tech.gate);
    let signal = tech.signal;
    if (!signal) {
      const scalp = scalpingSignal(ctx.ind);
      gates.push(scalp.gate);
      signal = scalp.signal;
    } else {
      gates.push({
        stage: 'scalping',
        verdict: 'skip',
        reason: 'primary_signal_present',
        observed: null,
        thresholds: null,
      });
    }
    const out: SignalOutcome = {
      gates,
      signal,
      blocked: null,
      modelTrace: [],
      featuresHash: null,
      regime: null,
      rlRecommendation: null,
    };
    // With no signal from any source, the first source that found nothing is the blocker.
    if (!signal) {
      out.blocked = gates.find((g) => g.verdict === 'block') ?? null;
      return out;
    }
    gates.push({
      stage: 'htf_filter',
      verdict: 'skip',
      reason: 'not_configured',
      observed: null,
      thresholds: null,
    });
    const conf = { confidence: r6(signal.confidence) };
    const thresholds = { min_confidence: this.minConfidence };
    if (signal.confidence < this.minConfidence) {
      const g: GateStage = {
        stage: 'confidence',
        verdict: 'block',
        reason: 'confidence_below_threshold',
        observed: conf,
        thresholds,
      };
      gates.push(g);
      out.blocked = g;
      out.signal = null;
      return out;
    }
    gates.push({ stage: 'confidence', verdict: 'pass', reason: null, observed: conf, thresholds });
    return out;
  }
}
