import { type Static, Type } from '@sinclair/typebox';

const Fraction = Type.Number({ minimum: 0, maximum: 1 });

/** Overrides for the requirements of one step into a mode; a key left out keeps the default. */
export const StepRequirementsOverride = Type.Object(
  {
    min_days_in_mode: Type.Optional(Type.Number({ minimum: 0 })),
    min_trades: Type.Optional(Type.Integer({ minimum: 0 })),
    min_win_rate: Type.Optional(Fraction),
    max_drawdown: Type.Optional(Fraction),
    min_profit_factor: Type.Optional(Type.Number({ minimum: 0 })),
    min_expectancy_bps: Type.Optional(Type.Number({ minimum: -10_000, maximum: 10_000 })),
    approval: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** `check-transition --requirements FILE`: per target mode, the minimums to judge the step into it by. */
export const TransitionRequirementsFile = Type.Object(
  {
    paper_synthetic: Type.Optional(StepRequirementsOverride),
    paper_live_data: Type.Optional(StepRequirementsOverride),
    testnet: Type.Optional(StepRequirementsOverride),
    live_limited: Type.Optional(StepRequirementsOverride),
    live_full: Type.Optional(StepRequirementsOverride),
  },
  { additionalProperties: false },
);
export type TransitionRequirementsFile = Static<typeof TransitionRequirementsFile>;
