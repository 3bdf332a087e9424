/**
 * Seeded synthetic market: regime switching (bull / bear / sideways / volatile), GARCH(1,1)
 * volatility clustering and Student-t innovations (fat tails), intraday volume seasonality.
 * Deterministic: the same seed gives the same candles byte for byte. Always labelled synthetic.
 */

export const SYNTHETIC_GENERATOR_VERSION = 'atl-synth-v1';

/** sfc32: small, fast, good-quality 32-bit PRNG with a 128-bit state. */
export function createRng(seed: number): () => number {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x243f6a88 ^ (seed * 31);
  let c = 0xb7e15162 ^ (seed * 17);
  let d = 1;
  const next = () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}

export function seedFromString(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

type Regime = { name: string; drift: number; volScale: number };
const REGIMES: Regime[] = [
  { name: 'bull', drift: 0.6, volScale: 0.9 },
  { name: 'bear', drift: -0.7, volScale: 1.2 },
  { name: 'sideways', drift: 0, volScale: 0.6 },
  { name: 'volatile', drift: 0, volScale: 2.0 },
];

export type SyntheticOptions = {
  seed: number;
  timeframeMs: number;
  startTs: number;
  startPrice: number;
  annualVol: number;
  /** Mean regime length in days. */
  regimeDays?: number;
};

export type GeneratedCandle = [number, number, number, number, number, number];

const MS_PER_YEAR = 365 * 86_400_000;
const STUDENT_NU = 4;

export class SyntheticMarket {
  private readonly rng: () => number;
  private readonly barVol: number;
  private readonly switchProb: number;
  private readonly timeframeMs: number;
  private ts: number;
  private price: number;
  private variance: number;
  private lastShock = 0;
  private regime: Regime;
  private spare: number | null = null;

  constructor(opts: SyntheticOptions) {
    this.rng = createRng(opts.seed);
    this.timeframeMs = opts.timeframeMs;
    this.barVol = opts.annualVol * Math.sqrt(opts.timeframeMs / MS_PER_YEAR);
    this.switchProb = opts.timeframeMs / ((opts.regimeDays ?? 4) * 86_400_000);
    this.ts = opts.startTs;
    this.price = opts.startPrice;
    this.variance = this.barVol ** 2;
    this.regime = REGIMES[2]!;
  }

  get regimeName(): string {
    return this.regime.name;
  }

  private normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.rng();
    const v = this.rng();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Student-t(ν) scaled to unit variance. */
  private studentT(): number {
    let chi = 0;
    for (let i = 0; i < STUDENT_NU; i++) chi += this.normal() ** 2;
    return (this.normal() / Math.sqrt(chi / STUDENT_NU)) * Math.sqrt((STUDENT_NU - 2) / STUDENT_NU);
  }

  next(): GeneratedCandle {
    if (this.rng() < this.switchProb) this.regime = REGIMES[Math.floor(this.rng() * REGIMES.length)]!;
    const target = (this.barVol * this.regime.volScale) ** 2;
    const alpha = 0.08;
    const beta = 0.9;
    this.variance = target * (1 - alpha - beta) + alpha * this.lastShock ** 2 + beta * this.variance;
    const sigma = Math.sqrt(this.variance);
    const shock = sigma * this.studentT();
    this.lastShock = shock;
    const drift = this.regime.drift * this.barVol * 0.05;
    const open = this.price * Math.exp(this.normal() * sigma * 0.02);
    const close = open * Math.exp(drift + shock);
    const wick = () => Math.abs(this.normal()) * sigma * 0.5;
    const high = Math.max(open, close) * Math.exp(wick());
    const low = Math.min(open, close) / Math.exp(wick());
    const hourOfDay = new Date(this.ts).getUTCHours();
    const seasonal = 1 + 0.35 * Math.sin(((hourOfDay - 8) / 24) * 2 * Math.PI);
    const volume =
      (1000 / Math.sqrt(this.price)) *
      seasonal *
      Math.exp(0.4 * this.normal()) *
      (1 + (6 * Math.abs(shock)) / this.barVol / 4);
    const candle: GeneratedCandle = [this.ts, round(open), 0, 0, round(close), round(volume)];
    candle[2] = Math.max(round(high), candle[1], candle[4]);
    candle[3] = Math.min(round(low), candle[1], candle[4]);
    this.ts += this.timeframeMs;
    this.price = close;
    return candle;
  }
}

/** Eight significant digits: realistic exchange precision, stable text. */
function round(x: number): number {
  return Number(x.toPrecision(8));
}

export const SYMBOL_PROFILES: Record<string, { startPrice: number; annualVol: number }> = {
  'BTC/USDT': { startPrice: 62_000, annualVol: 0.55 },
  'ETH/USDT': { startPrice: 3_100, annualVol: 0.7 },
  'SOL/USDT': { startPrice: 145, annualVol: 0.95 },
};

export function profileFor(symbol: string): { startPrice: number; annualVol: number } {
  return SYMBOL_PROFILES[symbol] ?? { startPrice: 100, annualVol: 0.8 };
}
