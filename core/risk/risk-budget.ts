import { r2, r6 } from '../round.ts';
import type { RiskBudgetConfig } from '../schema/risk.ts';
import { type RiskOverrides, resolveRiskConfig } from './config.ts';

export type Regime =
  | 'STRONG_BULL'
  | 'BULL'
  | 'RECOVERY'
  | 'SIDEWAYS'
  | 'LOW_VOL'
  | 'HIGH_VOL'
  | 'BEAR'
  | 'STRONG_BEAR'
  | 'CRASH'
  | 'unknown';
export type RiskTier = 'ZERO' | 'MINIMAL' | 'REDUCED' | 'FULL';

const TIER_MULTIPLIER: Record<RiskTier, number> = { ZERO: 0, MINIMAL: 0.25, REDUCED: 0.5, FULL: 1 };
const LEVERAGE_CAP: Record<Regime, number> = {
  STRONG_BULL: 3,
  BULL: 2.5,
  RECOVERY: 2,
  SIDEWAYS: 1.5,
  LOW_VOL: 2,
  HIGH_VOL: 1.2,
  BEAR: 1.5,
  STRONG_BEAR: 1.2,
  CRASH: 1,
  unknown: 1.5,
};
// Normal quantile and expected-shortfall factor (φ(z)/(1−c)) per VaR confidence.
const VAR_Z = { 0.95: 1.6449, 0.99: 2.3263 } as const;
const ES_FACTOR = { 0.95: 2.0627, 0.99: 2.6652 } as const;

/** A position already held, seen from the candidate: signed by side, volatility per bar, correlation with the candidate. */
export type HeldPosition = {
  symbol: string;
  side: 'long' | 'short';
  notional: number;
  volatility: number | null;
  correlation: number | null;
};

export type BudgetRequest = {
  symbol: string;
  side: 'long' | 'short';
  confidence: number;
  /** Equity from the portfolio (quote currency) and its drawdown from peak (fraction). */
  equity: number;
  drawdown: number;
  /** Gross notional of open positions. */
  exposure: number;
  /** Standard deviation of per-bar returns (NaN when unknown) and the bar length. */
  volatility: number;
  barMs: number;
  /** The stop the signal will place (fraction of entry price). */
  signalStopPct: number;
  regime: Regime;
  winStreak: number;
  lossStreak: number;
  kelly: { trades: number; winRate: number; payoff: number };
  positions: HeldPosition[];
  /** Correlations between held positions, same order as `positions` (null: unknown). */
  positionCorrelations: (number | null)[][];
};

export type RiskBudget = {
  tier: RiskTier;
  symbol: string;
  equity: number;
  drawdown_pct: number;
  confidence: number;
  regime: Regime;
  max_risk_usd: number;
  max_risk_pct: number;
  stop_distance_pct: number;
  max_position_usd: number;
  max_position_pct: number;
  recommended_position_usd: number;
  max_leverage: number;
  recommended_leverage: number;
  correlation_penalty: number;
  max_correlation: number | null;
  correlated_exposure_usd: number;
  var_confidence: number;
  var_usd: number;
  cvar_usd: number;
  portfolio_var_usd: number;
  var_limit_usd: number;
  multipliers: {
    confidence: number;
    drawdown: number;
    streak: number;
    tier: number;
    kelly_cap_pct: number | null;
  };
  adjustments: string[];
};

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/**
 * Per-trade risk budget (SPEC §3 step 7, original §6.1): built from configuration alone; equity,
 * exposure and positions come with each request from the portfolio. The recommended position is
 * what the entry guard sizes from.
 */
export class RiskBudgetEngine {
  readonly config: RiskBudgetConfig;

  constructor(overrides: RiskOverrides['budget'] = {}) {
    this.config = resolveRiskConfig({ budget: overrides ?? {} }).budget;
  }

  tier(confidence: number, drawdown: number, lossStreak: number, regime: Regime): RiskTier {
    if (confidence < 0.3) return 'ZERO';
    if (drawdown > 0.08 || regime === 'CRASH') return 'MINIMAL';
    if (
      lossStreak >= 3 ||
      ((regime === 'BEAR' || regime === 'STRONG_BEAR') && confidence < 0.6) ||
      (regime === 'HIGH_VOL' && confidence < 0.65)
    ) {
      return 'REDUCED';
    }
    return confidence >= 0.6 && drawdown < 0.05 ? 'FULL' : 'REDUCED';
  }

  streakMultiplier(winStreak: number, lossStreak: number): number {
    const c = this.config;
    if (lossStreak >= c.lossReduceAfter)
      return Math.max(c.lossReduceFloor, c.lossReduceFactor ** (lossStreak - c.lossReduceAfter + 1));
    if (winStreak >= c.winBoostAfter)
      return Math.min(
        c.winBoostCap,
        1 + c.winBoostStep * Math.min(winStreak - c.winBoostAfter + 1, c.winBoostMaxSteps),
      );
    return 1;
  }

  compute(req: BudgetRequest): RiskBudget {
    const c = this.config;
    const adjustments: string[] = [];
    const equity = Math.max(0, req.equity);
    const drawdown = Math.max(0, req.drawdown);
    const conf = req.confidence;
    const confMult = conf >= 0.7 ? 1 : conf >= 0.5 ? 0.7 : conf >= 0.3 ? 0.4 : 0;
    const ddMult =
      drawdown <= 0.02 ? 1 : drawdown <= 0.05 ? 0.7 : drawdown <= 0.08 ? 0.4 : drawdown <= 0.1 ? 0.1 : 0;
    const streakMult = this.streakMultiplier(req.winStreak, req.lossStreak);
    const tier = equity > 0 ? this.tier(conf, drawdown, req.lossStreak, req.regime) : 'ZERO';
    if (confMult < 1) adjustments.push(`confidence_x${confMult}`);
    if (ddMult < 1) adjustments.push(`drawdown_x${ddMult}`);
    if (streakMult !== 1) adjustments.push(`streak_x${r6(streakMult)}`);
    if (tier !== 'FULL') adjustments.push(`tier_${tier}`);

    // Correlation with what is held: a same-side position counts as +ρ, an opposite side as −ρ (a hedge).
    const sign = req.side === 'long' ? 1 : -1;
    let maxCorr: number | null = null;
    let correlatedExposure = 0;
    for (const p of req.positions) {
      const eff = p.correlation === null ? null : p.correlation * (p.side === req.side ? 1 : -1);
      if (eff !== null && (maxCorr === null || eff > maxCorr)) maxCorr = eff;
      if (eff === null || eff >= c.highCorrelation) correlatedExposure += p.notional; // unknown counts as correlated
    }
    let penalty = 0;
    if (maxCorr !== null && maxCorr > 0) {
      penalty = maxCorr * 0.2;
      const ratio = equity > 0 ? correlatedExposure / equity : 0;
      if (maxCorr > c.highCorrelation && ratio > 0.4)
        penalty = Math.min(0.5, Math.max(penalty, (ratio - 0.4) * 2));
    }
    if (penalty > 0) adjustments.push(`correlation_penalty_${r6(penalty)}`);

    let risk =
      equity * c.baseRiskPct * confMult * ddMult * streakMult * TIER_MULTIPLIER[tier] * (1 - penalty);
    let kellyCap: number | null = null;
    if (c.kellyEnabled && req.kelly.trades >= c.kellyMinTrades) {
      const { winRate: p, payoff: b } = req.kelly;
      const full = Number.isFinite(b) ? (b * p - (1 - p)) / b : p;
      kellyCap = clamp(full * c.kellyFraction, 0, c.maxRiskPct);
      if (risk > equity * kellyCap) {
        risk = equity * kellyCap;
        adjustments.push(kellyCap === 0 ? 'kelly_no_edge' : 'kelly_cap');
      }
    }
    if (risk > 0) risk = clamp(risk, equity * c.minRiskPct, equity * c.maxRiskPct);

    const vol = req.volatility > 0 ? req.volatility : Number.NaN;
    const volStop = Number.isNaN(vol)
      ? c.minStopPct
      : clamp(c.stopVolMultiple * vol, c.minStopPct, c.maxStopPct);
    const stop = Math.max(req.signalStopPct, volStop);
    const exposureRoom = Math.max(0, c.maxTotalExposurePct - (equity > 0 ? req.exposure / equity : 1));
    const correlatedRoom = Math.max(0, c.maxCorrelatedExposurePct * equity - correlatedExposure);
    let maxPosition = Math.min(
      risk / stop,
      equity * Math.min(c.maxPositionPct, exposureRoom),
      correlatedRoom,
    );
    if (maxPosition === correlatedRoom && correlatedRoom < risk / stop)
      adjustments.push('correlated_exposure_cap');
    let recommended = maxPosition * c.recommendedFraction;

    // Value at risk over the horizon, from per-bar volatility (unknown: the stop distance stands in).
    const horizon = Math.sqrt((c.varHorizonHours * 3_600_000) / req.barMs);
    const sigma = (Number.isNaN(vol) ? stop / c.stopVolMultiple : vol) * horizon;
    const z = VAR_Z[c.varConfidence];
    let held = 0; // Σ w_i σ_i ρ_in, signed toward the candidate
    let heldVariance = 0;
    const sig = req.positions.map(
      (p) =>
        (p.side === 'long' ? 1 : -1) *
        p.notional *
        (p.volatility && p.volatility > 0 ? p.volatility * horizon : sigma),
    );
    for (let i = 0; i < sig.length; i++) {
      held += sig[i]! * (req.positions[i]!.correlation ?? 1) * sign;
      for (let j = 0; j < sig.length; j++)
        heldVariance += sig[i]! * sig[j]! * (i === j ? 1 : (req.positionCorrelations[i]?.[j] ?? 1));
    }
    heldVariance = Math.max(0, heldVariance);
    const varLimit = c.maxVarPct * equity;
    const room = (varLimit / z) ** 2 - heldVariance;
    const disc = held * held + room;
    const varMax = disc < 0 ? 0 : Math.max(0, (-held + Math.sqrt(disc)) / sigma);
    if (recommended > varMax) {
      recommended = varMax;
      maxPosition = Math.min(maxPosition, varMax);
      adjustments.push('var_cap');
    }
    const portfolioVar =
      z * Math.sqrt(Math.max(0, heldVariance + 2 * recommended * sigma * held + (recommended * sigma) ** 2));

    let leverage = LEVERAGE_CAP[req.regime];
    if (drawdown > 0.05) leverage *= 0.7;
    else if (drawdown > 0.03) leverage *= 0.85;
    if (req.lossStreak >= 2) leverage *= 0.8;
    leverage = Math.max(1, leverage);

    return {
      tier,
      symbol: req.symbol,
      equity: r2(equity),
      drawdown_pct: r6(drawdown),
      confidence: r6(conf),
      regime: req.regime,
      max_risk_usd: r2(risk),
      max_risk_pct: equity > 0 ? r6(risk / equity) : 0,
      stop_distance_pct: r6(stop),
      max_position_usd: r2(maxPosition),
      max_position_pct: equity > 0 ? r6(maxPosition / equity) : 0,
      recommended_position_usd: r2(recommended),
      max_leverage: r6(leverage),
      recommended_leverage: r6(leverage * confMult),
      correlation_penalty: r6(penalty),
      max_correlation: maxCorr === null ? null : r6(maxCorr),
      correlated_exposure_usd: r2(correlatedExposure),
      var_confidence: c.varConfidence,
      var_usd: r2(z * sigma * recommended),
      cvar_usd: r2(ES_FACTOR[c.varConfidence] * sigma * recommended),
      portfolio_var_usd: r2(portfolioVar),
      var_limit_usd: r2(varLimit),
      multipliers: {
        confidence: confMult,
        drawdown: ddMult,
        streak: r6(streakMult),
        tier: TIER_MULTIPLIER[tier],
        kelly_cap_pct: kellyCap === null ? null : r6(kellyCap),
      },
      adjustments,
    };
  }
}
