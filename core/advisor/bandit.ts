/**
 * LinUCB: per arm, a ridge regression of reward on context (A = I + Σ x xᵀ kept as its inverse by
 * Sherman–Morrison, b = Σ r x), scored as θ·x plus α √(xᵀ A⁻¹ x) for exploration. O(d²) per
 * update, typed arrays, no allocation.
 */
export class LinUcb {
  readonly arms: number;
  readonly dim: number;
  readonly inverse: Float64Array;
  readonly rewards: Float64Array;
  readonly updates: Float64Array;
  private readonly tmp: Float64Array;

  constructor(
    arms: number,
    dim: number,
    readonly alpha = 0.5,
  ) {
    this.arms = arms;
    this.dim = dim;
    this.inverse = new Float64Array(arms * dim * dim);
    this.rewards = new Float64Array(arms * dim);
    this.updates = new Float64Array(arms);
    this.tmp = new Float64Array(dim);
    for (let a = 0; a < arms; a++)
      for (let i = 0; i < dim; i++) this.inverse[a * dim * dim + i * dim + i] = 1;
  }

  /** Set by `evaluate`: arm's expected reward and exploration bonus in the context (fields, so the hot path allocates nothing). */
  lastMean = 0;
  lastBonus = 0;

  /** Expected reward and exploration bonus of arm `a` in context x, into `lastMean` / `lastBonus`. */
  evaluate(a: number, x: Float64Array): void {
    const d = this.dim;
    const base = a * d * d;
    let mean = 0;
    let quad = 0;
    for (let i = 0; i < d; i++) {
      let ai = 0;
      let theta = 0;
      for (let j = 0; j < d; j++) {
        const inv = this.inverse[base + i * d + j]!;
        ai += inv * x[j]!;
        theta += inv * this.rewards[a * d + j]!;
      }
      mean += theta * x[i]!;
      quad += x[i]! * ai;
    }
    this.lastMean = mean;
    this.lastBonus = this.alpha * Math.sqrt(Math.max(0, quad));
  }

  /** Learn `reward` for arm `a` in context `x[at…at + dim)`. */
  update(a: number, x: Float64Array, reward: number, at = 0): void {
    const d = this.dim;
    const base = a * d * d;
    const u = this.tmp;
    let denom = 1;
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += this.inverse[base + i * d + j]! * x[at + j]!;
      u[i] = s;
      denom += x[at + i]! * s;
    }
    // A⁻¹ ← A⁻¹ − (A⁻¹x)(A⁻¹x)ᵀ / (1 + xᵀA⁻¹x); A⁻¹ stays symmetric.
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) this.inverse[base + i * d + j]! -= (u[i]! * u[j]!) / denom;
    for (let i = 0; i < d; i++) this.rewards[a * d + i]! += reward * x[at + i]!;
    this.updates[a]!++;
  }
}
