import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { ErrorObject } from 'ajv';
import { configError } from '../core/errors.ts';
import { validatorFor } from '../core/schema/ajv.ts';
import { type HostEntry, HostsFile } from '../core/schema/hosts.ts';

/** One host with its defaults applied and its file paths made absolute. */
export type FleetHost = {
  name: string;
  host: string;
  user: string | null;
  port: number | null;
  identity: string | null;
  knownHosts: string | null;
  timeoutS: number;
  remoteVerify: boolean;
  remoteAtl: string;
  dataDir: string | null;
};

const HINT = 'fix hosts.json (the format is in docs/RUNBOOK.md, "Checking a fleet")';

/** Ajv's words plus the field it is about, which Ajv keeps in `params` for unknown keys. */
function describe(e: ErrorObject): string {
  const at = e.instancePath || '/';
  if (e.keyword === 'additionalProperties')
    return `${at === '/' ? '' : at}/${(e.params as { additionalProperty: string }).additionalProperty}: unknown field`;
  if (e.keyword === 'required')
    return `${at === '/' ? '' : at}/${(e.params as { missingProperty: string }).missingProperty}: required`;
  return `${at}: ${e.message ?? 'is invalid'}`;
}

/** Read and validate hosts.json; anything wrong with it is a configuration error (exit 78) naming the field. */
export function loadHostsFile(path: string): { path: string; hosts: FleetHost[] } {
  const file = resolve(path);
  if (!existsSync(file))
    throw configError(
      `${file}: no such hosts file`,
      'create it (docs/RUNBOOK.md, "Checking a fleet") or pass --hosts FILE',
    );
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw configError(`${file}: not valid JSON (${(err as Error).message})`, HINT, err);
  }
  const valid = validatorFor(HostsFile);
  if (!valid(value))
    throw configError(`${file}: ${(valid.errors ?? []).slice(0, 3).map(describe).join('; ')}`, HINT);
  const doc = value as HostsFile;
  const seen = new Map<string, number>();
  doc.hosts.forEach((h, i) => {
    const first = seen.get(h.name);
    if (first !== undefined)
      throw configError(
        `${file}: /hosts/${i}/name "${h.name}" repeats /hosts/${first}/name`,
        'give every host its own name',
      );
    seen.set(h.name, i);
  });
  // Key and known_hosts paths are relative to hosts.json, so the file works from any directory.
  const near = (p: string | undefined) =>
    p === undefined ? null : isAbsolute(p) ? p : resolve(dirname(file), p);
  const hosts = doc.hosts.map((entry: HostEntry, i): FleetHost => {
    const h = { ...doc.defaults, ...entry };
    for (const field of ['identity', 'known_hosts'] as const) {
      const p = near(h[field]);
      if (p && !existsSync(p)) {
        const where = entry[field] !== undefined ? `/hosts/${i}/${field}` : `/defaults/${field}`;
        throw configError(
          `${file}: ${where} names ${p}, which does not exist`,
          `fix the path (relative paths are taken from ${dirname(file)})`,
        );
      }
    }
    return {
      name: h.name,
      host: h.host,
      user: h.user ?? null,
      port: h.port ?? null,
      identity: near(h.identity),
      knownHosts: near(h.known_hosts),
      timeoutS: h.timeout_s ?? 15,
      remoteVerify: h.remote_verify ?? true,
      remoteAtl: h.remote_atl ?? 'atl',
      dataDir: h.data_dir ?? null,
    };
  });
  return { path: file, hosts };
}
