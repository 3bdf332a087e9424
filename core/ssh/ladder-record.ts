import { check, skippedCheck } from '../evidence/envelope.ts';
import type { CheckStatus } from '../exit-codes.ts';
import type { Check } from '../schema/evidence.ts';
import { SSH_STAGES, type SshFault, type SshStage } from './classify.ts';

export type StageStatus = CheckStatus | 'not_reached' | 'skipped';
export type StageRecord = { stage: SshStage; status: StageStatus; kind: string | null };

/** What `ssh -v` said about the stages it got through. */
export function readVerboseLog(stderr: string) {
  const match = (re: RegExp) => re.exec(stderr)?.[1] ?? null;
  return {
    fingerprint: match(/Server host key: \S+ (SHA256:\S+)/),
    hostKeyMatched: /Host '.*' is known and matches the/.test(stderr),
    authMethod: match(/Authenticated to .* using "([^"]+)"/),
    offered: [...stderr.matchAll(/Offering public key: (.+?) \S+ (SHA256:\S+)/g)].map(
      (m) => `${m[1]} (${m[2]})`,
    ),
  };
}

/** The last line ssh or the remote side wrote that is not `-v` chatter. */
export function lastMessage(stderr: string): string | null {
  return (
    stderr
      .split(/\r?\n/)
      .filter(
        (l) => l.trim() && !/^(debug\d|OpenSSH_|Transferred:|Bytes per second|Authenticated to)/.test(l),
      )
      .at(-1)
      ?.trim() ?? null
  );
}

/** Records each stage's check in ladder order; a fault ends the climb. */
export class Ladder {
  readonly byStage = new Map<SshStage, { check: Check; kind: string | null; status: StageStatus }>();
  fault: SshFault | null = null;
  pass(stage: SshStage, output: string, observed: unknown, unit?: string) {
    this.byStage.set(stage, {
      check: check({ id: `ssh:${stage}`, status: 'pass', output, observed, unit }),
      kind: null,
      status: 'pass',
    });
  }
  skip(stage: SshStage, reason: string) {
    this.byStage.set(stage, { check: skippedCheck(`ssh:${stage}`, reason), kind: null, status: 'skipped' });
  }
  fail(f: SshFault, observed: unknown) {
    this.fault = f;
    this.byStage.set(f.stage, {
      check: check({
        id: `ssh:${f.stage}`,
        status: f.status,
        output: f.output,
        observed: { kind: f.kind, ...(observed as object) },
        hint: f.hint,
      }),
      kind: f.kind,
      status: f.status,
    });
  }
  stagesAfterFault(): SshStage[] {
    return this.fault ? SSH_STAGES.slice(SSH_STAGES.indexOf(this.fault.stage) + 1) : [];
  }
  checks(): Check[] {
    const cut = this.stagesAfterFault();
    return SSH_STAGES.filter((s) => !cut.includes(s)).flatMap((s) => this.byStage.get(s)?.check ?? []);
  }
  stages(): StageRecord[] {
    const cut = this.stagesAfterFault();
    return SSH_STAGES.map((stage) => {
      const r = cut.includes(stage) ? undefined : this.byStage.get(stage);
      return { stage, status: r?.status ?? 'not_reached', kind: r?.kind ?? null };
    });
  }
}
