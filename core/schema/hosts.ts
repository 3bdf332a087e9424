import { type Static, Type } from '@sinclair/typebox';

export const HOSTS_SCHEMA_VERSION = '1.0.0';

/** How to reach one host and check it; every field but name and host may come from `defaults`. */
const HostSettings = {
  user: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  identity: Type.String({ minLength: 1, description: 'private key file; relative to hosts.json' }),
  known_hosts: Type.String({ minLength: 1, description: 'known_hosts file; relative to hosts.json' }),
  timeout_s: Type.Number({ minimum: 1, description: 'seconds each ssh-check stage may take' }),
  remote_verify: Type.Boolean({ description: 'run `atl verify --json` on the host (default true)' }),
  remote_atl: Type.String({
    minLength: 1,
    description: 'how to invoke atl on the host, e.g. "/home/u/.bun/bin/bun /home/u/atl/cli/main.ts"',
  }),
  data_dir: Type.String({ minLength: 1, description: 'the engine data root on the host' }),
};

const OptionalSettings = Type.Partial(Type.Object(HostSettings));

export const HostEntry = Type.Composite(
  [
    Type.Object({
      name: Type.String({
        pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
        description: 'unique; names the host in the evidence',
      }),
      host: Type.String({ pattern: '^[^\\s-][^\\s]*$', description: 'name, address or ~/.ssh/config alias' }),
    }),
    OptionalSettings,
  ],
  { additionalProperties: false },
);
export type HostEntry = Static<typeof HostEntry>;

/** `hosts.json`: the fleet `ops/fleet.ts` checks. */
export const HostsFile = Type.Object(
  {
    schema_version: Type.Literal(HOSTS_SCHEMA_VERSION),
    defaults: Type.Optional(Type.Partial(Type.Object(HostSettings), { additionalProperties: false })),
    hosts: Type.Array(HostEntry, { minItems: 1 }),
  },
  { additionalProperties: false },
);
export type HostsFile = Static<typeof HostsFile>;
