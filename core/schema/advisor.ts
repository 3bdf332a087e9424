import { type Static, Type } from '@sinclair/typebox';

export const ADVISOR_STATE_SCHEMA_VERSION = '1.0.0';

/** `rl/advisor_state.json`: what the shadow advisor has learned, so a restart continues from it. */
export const AdvisorState = Type.Object(
  {
    schema_version: Type.Literal(ADVISOR_STATE_SCHEMA_VERSION),
    learner: Type.String(),
    agents: Type.Array(Type.String()),
    weights: Type.Array(Type.Number({ minimum: 0, maximum: 1 })),
    day_start_weights: Type.Array(Type.Number({ minimum: 0, maximum: 1 })),
    day: Type.Integer(),
    performance: Type.Array(Type.Number()),
    bandit: Type.Object({
      dim: Type.Integer({ minimum: 1 }),
      inverse: Type.Array(Type.Number()),
      rewards: Type.Array(Type.Number()),
      updates: Type.Array(Type.Number({ minimum: 0 })),
    }),
    updates: Type.Integer({ minimum: 0 }),
    /** Per symbol, the stances of the last bars still waiting for their outcome (a ring, as held). */
    pending: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object(
          {
            count: Type.Integer({ minimum: 0 }),
            contexts: Type.Array(Type.Number()),
            stances: Type.Array(Type.Number()),
            closes: Type.Array(Type.Number()),
            vols: Type.Array(Type.Number()),
            /** Each slot's bar close (epoch ms); absent from states saved before it existed. */
            close_ts: Type.Optional(Type.Array(Type.Number())),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    /** The hour the weights last moved toward performance. */
    last_weight_hour: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);
export type AdvisorState = Static<typeof AdvisorState>;
