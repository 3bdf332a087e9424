import { check } from '../evidence/envelope.ts';
import { xorIds } from '../records/retention.ts';
import type { Check } from '../schema/evidence.ts';
import type { DecisionLogFacts, FillTotals, LineFault } from './decisions.ts';
import type { EvidenceFacts } from './evidence-files.ts';
import type { LedgerFacts } from './ledger.ts';
import type { OutcomeFacts } from './outcomes.ts';

/** Money and quantities summed in a different order differ in the last bits, never more. */
const same = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));
const sample = (faults: Array<{ line: number; problem: string }>) =>
  faults
    .slice(0, 3)
    .map((f) => `line ${f.line}: ${f.problem}`)
    .join('; ');

function lineCheck(
  id: string,
  faults: LineFault[],
  count: number,
  passText: string,
  failText: string,
  hint: string,
): Check {
  if (count === 0) return check({ id, status: 'pass', observed: 0, unit: 'count', output: passText });
  return check({
    id,
    status: 'fail',
    observed: count,
    unit: 'count',
    output: `${failText}: ${sample(faults)}`,
    hint,
  });
}

const TAMPER_HINT =
  'a record was edited, removed or inserted after it was written: restore the file from a backup and do not use it as evidence';

/** The decision log's own checks: chain, schema, ids, bar order, an unterminated tail. */
export function decisionChecks(d: DecisionLogFacts): Check[] {
  if (!d.exists)
    return [
      check({
        id: 'decisions:present',
        status: 'unknown',
        output: `no decision log at ${d.path}`,
        hint: 'run the engine on this data root first (`npx atl run`), or pass --data-dir',
      }),
    ];
  const of = (kind: LineFault['kind']) => d.faults.filter((f) => f.kind === kind);
  const checks = [
    anchorCheck(d),
    lineCheck(
      'decisions:chain',
      of('chain'),
      d.counts.chain,
      `hash chain intact over ${d.lines} lines`,
      `${d.counts.chain} break(s) in the hash chain`,
      TAMPER_HINT,
    ),
    lineCheck(
      'decisions:schema',
      of('schema'),
      d.counts.schema,
      `all ${d.records} records match the DecisionRecord schema`,
      `${d.counts.schema} line(s) are not valid decision records`,
      'find what else writes to the decision log; a record the engine wrote always validates',
    ),
    lineCheck(
      'decisions:headers',
      of('header'),
      d.counts.header,
      d.headers === 0
        ? 'no run headers: every line is a whole (v1) record'
        : `all ${d.headers} run header(s) match the RunHeader schema; every compact line follows one`,
      `${d.counts.header} run header problem(s)`,
      'a compact (v2) line can only be read under the run header before it: restore the log from a backup',
    ),
    lineCheck(
      'decisions:ids-unique',
      of('duplicate'),
      d.counts.duplicate,
      `${d.ids.size} decision ids, none repeated`,
      `${d.counts.duplicate} record(s) repeat a decision id`,
      'the engine logs each decision once: a repeat means lines were copied into the log',
    ),
    lineCheck(
      'decisions:bars-monotone',
      of('order'),
      d.counts.order,
      `bars never go backwards for ${Object.keys(d.bySymbol).length} symbol(s)`,
      `${d.counts.order} record(s) go back in bar time for their symbol`,
      TAMPER_HINT,
    ),
  ];
  if (d.tail?.state === 'truncated')
    checks.push(
      lineCheck(
        'decisions:tail',
        of('truncated'),
        1,
        '',
        'the log ends mid-line',
        'the file was cut short (a copy, a full disk or a crash mid-append); the engine moves the fragment to a .torn-* sidecar on its next start',
      ),
    );
  else
    checks.push(
      check({
        id: 'decisions:tail',
        status: 'pass',
        observed: d.tail?.bytes ?? 0,
        unit: 'bytes',
        output: d.tail
          ? `an append was in progress at byte ${d.tail.offset} (the file grew while it was read)`
          : 'the log ends with a complete line',
      }),
    );
  return checks;
}

/** Where the chain was verified from: genesis, or the retention manifest's anchor. */
function anchorCheck(d: DecisionLogFacts): Check {
  const r = d.retention;
  const over = (d.segments ?? 1) > 1 ? ` across ${d.segments} segments` : '';
  // Where the check starts; "verified" only when the chain held from there (decisions:chain says where not).
  const verified = d.counts.chain === 0 ? 'verified' : 'checked';
  if (r?.problem)
    return check({
      id: 'decisions:anchor',
      status: 'fail',
      observed: null,
      output: `the retention manifest cannot anchor the chain: ${r.problem}`,
      hint: 'restore the manifest (rl/shadow_decisions.retention.json) from a backup; without it the kept archives cannot be tied to genesis',
    });
  if (!r || r.removed.length === 0)
    return check({
      id: 'decisions:anchor',
      status: 'pass',
      observed: 'genesis',
      output: `chain ${verified} from genesis${over} (the first line must link to 64 zeros)`,
    });
  const last = r.removed.at(-1)!;
  const lines = r.removed.reduce((n, s) => n + s.lines, 0);
  return check({
    id: 'decisions:anchor',
    status: 'pass',
    observed: r.anchor,
    output: `chain ${verified} from anchor ${r.anchor.slice(0, 12)}… after ${r.removed.length} removed segment(s) (${lines} lines, bars ${r.removed[0]!.first_bar_ts ?? '?'} to ${last.last_bar_ts ?? '?'}, recorded in the retention manifest)${over}`,
  });
}

/** Decisions retention removed from the log: records and the digest of the executed ones. */
function removedDecisions(d: DecisionLogFacts): { records: number; executed: number; xor: string } {
  const removed = d.retention?.removed ?? [];
  const acc = Buffer.alloc(32);
  for (const s of removed) {
    const x = Buffer.from(s.executed_xor, 'hex');
    for (let i = 0; i < 32; i++) acc[i]! ^= x[i]!;
  }
  return {
    records: removed.reduce((n, s) => n + s.lines - s.headers, 0),
    executed: removed.reduce((n, s) => n + s.executed, 0),
    xor: acc.toString('hex'),
  };
}

export function outcomeChecks(o: OutcomeFacts): Check[] {
  if (!o.exists)
    return [
      check({ id: 'outcomes:links', status: 'pass', observed: 0, output: `no outcome file yet (${o.path})` }),
    ];
  const of = (...kinds: string[]) => o.faults.filter((f) => kinds.includes(f.kind));
  return [
    lineCheck(
      'outcomes:schema',
      of('schema', 'truncated'),
      o.counts.schema + o.counts.truncated,
      `all ${o.outcomes} outcome lines match their schema`,
      `${o.counts.schema + o.counts.truncated} outcome line(s) are not valid`,
      'find what else writes to rl/decision_outcomes.jsonl',
    ),
    lineCheck(
      'outcomes:links',
      of('link'),
      o.counts.link,
      `every outcome names a decision in the log (${o.outcomes} outcomes${o.beforeAnchor ? `; ${o.beforeAnchor} name decisions in archives retention removed` : ''})`,
      `${o.counts.link} outcome(s) name a decision the log does not hold`,
      'decisions were removed from the log after their outcomes were written: restore the log from a backup',
    ),
  ];
}

/** Bars the log holds past the ledger's last checkpoint (a crash between the two writes). */
const pastCheckpoint = (l: LedgerFacts, t: FillTotals) => {
  const bar = l.checkpoint?.last_bar_ts?.[t.symbol];
  return bar === undefined || t.bar_ts > bar;
};

/** The ledger against the log's fills, and its checkpoint totals against its own tables. */
export function ledgerChecks(l: LedgerFacts, d: DecisionLogFacts): Check[] {
  if (!l.exists)
    return d.fills.size === 0
      ? [
          check({
            id: 'ledger:fills',
            status: 'pass',
            observed: 0,
            output: `no ledger and no fills in the log`,
          }),
        ]
      : [
          check({
            id: 'ledger:fills',
            status: 'unknown',
            observed: d.fills.size,
            output: `the log holds ${d.fills.size} executed decision(s) but there is no ledger at ${l.path}`,
            hint: 'point --data-dir at the data root the engine ran on (the ledger lives in unified_trading/)',
          }),
        ];
  const broken: string[] = [];
  const inFlight: string[] = [];
  for (const [id, t] of d.fills) {
    const row = l.byDecision.get(id);
    if (!row) (pastCheckpoint(l, t) ? inFlight : broken).push(`${id}: in the log, not in the ledger`);
    else if (row.fills !== t.fills || !same(row.quantity, t.quantity) || !same(row.fee, t.fee))
      broken.push(
        `${id}: log ${t.fills} fill(s) qty ${t.quantity} fee ${t.fee}, ledger ${row.fills} qty ${row.quantity} fee ${row.fee}`,
      );
  }
  const removed = removedDecisions(d);
  const gone = [...l.byDecision.keys()].filter((id) => !d.fills.has(id));
  // Fills of decisions in removed archives: exactly the set the manifest recorded, or a break.
  const beforeAnchor =
    removed.executed > 0 && gone.length === removed.executed && xorIds(gone).toString('hex') === removed.xor;
  if (!beforeAnchor) for (const id of gone) broken.push(`${id}: in the ledger, not in the log`);
  if (l.orphan_fills > 0) broken.push(`${l.orphan_fills} fill(s) without their order`);
  const checks: Check[] = [
    broken.length > 0
      ? check({
          id: 'ledger:fills',
          status: 'fail',
          observed: broken.length,
          unit: 'count',
          output: `ledger fills disagree with the decision log: ${broken.slice(0, 3).join('; ')}`,
          hint: 'the ledger or the log was changed outside the engine: restore both from the same backup',
        })
      : inFlight.length > 0
        ? check({
            id: 'ledger:fills',
            status: 'warn',
            observed: inFlight.length,
            unit: 'count',
            output: `${inFlight.length} executed decision(s) past the ledger's last checkpoint: ${inFlight.slice(0, 3).join('; ')}`,
            hint: 'the engine stopped between logging and committing (or is running): it re-derives them on its next start',
          })
        : check({
            id: 'ledger:fills',
            status: 'pass',
            observed: l.fills.count,
            unit: 'count',
            output: `${l.fills.count} ledger fills match ${d.fills.size} executed decisions in the log${beforeAnchor ? ` and ${removed.executed} in archives retention removed (as its manifest records them)` : ''}`,
          }),
  ];
  checks.push(totalsCheck(l, d));
  return checks;
}

function totalsCheck(l: LedgerFacts, d: DecisionLogFacts): Check {
  const cp = l.checkpoint;
  if (!cp)
    return check({
      id: 'ledger:totals',
      status: 'pass',
      observed: null,
      output: 'no checkpoint yet: nothing to compare',
    });
  const wrong: string[] = [];
  const cmp = (what: string, a: number, b: number) => {
    if (!same(a, b)) wrong.push(`${what} ${a} vs ${b}`);
  };
  cmp('checkpoint fees_paid vs Σ fill fees', cp.fees_paid, l.fills.fees);
  cmp('checkpoint realized_pnl vs Σ trade P&L', cp.realized_pnl, l.trades.pnl);
  cmp('Σ closing-fill P&L vs Σ trade P&L', l.fills.realized, l.trades.pnl);
  cmp('checkpoint total_trades vs trades', cp.total_trades, l.trades.count);
  cmp(
    'checkpoint cash vs initial capital + Σ fill cash flows',
    cp.cash,
    cp.initial_capital + l.fills.cashflow,
  );
  const records = d.records + removedDecisions(d).records;
  if (records < cp.decisions_total)
    wrong.push(
      `the log holds ${records} records but the checkpoint counts ${cp.decisions_total} written: lines were cut from the end`,
    );
  for (const [symbol, bar] of Object.entries(cp.last_bar_ts ?? {})) {
    const last = d.bySymbol[symbol]?.last_bar;
    if (last === undefined || last < bar)
      wrong.push(`${symbol}: the checkpoint is at bar ${bar}, the log's last is ${last ?? 'none'}`);
  }
  return wrong.length > 0
    ? check({
        id: 'ledger:totals',
        status: 'fail',
        observed: wrong.length,
        unit: 'count',
        output: `ledger totals are inconsistent: ${wrong.slice(0, 3).join('; ')}`,
        hint: 'the ledger or the log was changed or cut outside the engine: restore both from the same backup',
      })
    : check({
        id: 'ledger:totals',
        status: 'pass',
        observed: l.trades.count,
        unit: 'trades',
        output: `checkpoint cash, fees, P&L and trade count agree with ${l.fills.count} fills and ${l.trades.count} trades; the log reaches the checkpoint's bars`,
      });
}

export function evidenceChecks(e: EvidenceFacts): Check[] {
  if (e.faults.length === 0)
    return [
      check({
        id: 'evidence:integrity',
        status: 'pass',
        observed: e.files,
        unit: 'files',
        output: `${e.files} evidence file(s) consistent (schema, exit code, status, times, latest.json)`,
      }),
    ];
  return [
    check({
      id: 'evidence:integrity',
      status: 'fail',
      observed: e.faults.length,
      unit: 'count',
      output: `${e.faults.length} evidence problem(s): ${e.faults
        .slice(0, 3)
        .map((f) => `${f.file}: ${f.problem}`)
        .join('; ')}`,
      hint: 'an evidence file was edited after it was written: regenerate it by re-running its verb',
    }),
  ];
}
