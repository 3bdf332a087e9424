import { XMLBuilder } from 'fast-xml-parser';
import type { Check, Evidence } from '../schema/evidence.ts';

// XML 1.0 cannot carry these at all, escaped or not; raw process output sometimes contains them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching exactly these characters is the point
const XML_ILLEGAL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

const clean = (text: string) => text.replace(XML_ILLEGAL, '');

/** Seconds with at most 3 decimals: Jenkins' Surefire pattern rejects more. */
const seconds = (ms: number) => (Math.max(0, ms) / 1000).toFixed(3);

function detail(c: Check): string {
  const lines = [c.output];
  if (c.observed !== null && c.observed !== undefined)
    lines.push(`observed: ${JSON.stringify(c.observed)}${c.unit ? ` ${c.unit}` : ''}`);
  if (c.thresholds) lines.push(`thresholds: ${JSON.stringify(c.thresholds)}`);
  if (c.hint) lines.push(`hint: ${c.hint}`);
  return clean(lines.join('\n'));
}

/**
 * One check as a testcase: fail → <failure>, unknown → <error> (could not evaluate), n/a →
 * <skipped>; pass and warn pass (JUnit has no warning; warnings go to the suite's <system-out>).
 */
function testcase(c: Check, suite: string): Record<string, unknown> {
  const attrs = { '@_classname': suite, '@_name': clean(c.id), '@_time': '0.000' };
  const message = clean(c.hint ? `${c.output} — ${c.hint}` : c.output);
  if (c.skipped) return { ...attrs, skipped: { '@_message': message } };
  if (c.status === 'fail')
    return { ...attrs, failure: { '@_message': message, '@_type': 'fail', '#text': detail(c) } };
  if (c.status === 'unknown')
    return { ...attrs, error: { '@_message': message, '@_type': 'unknown', '#text': detail(c) } };
  return attrs;
}

/**
 * JUnit XML of an evidence envelope: one `<testsuite>` per verb run, one `<testcase>` per check.
 * Shaped for the strict Ant/windyroad schema (which Jenkins also reads): a bare `<testsuites>`,
 * `package` and `id` on the suite, a zone-less UTC timestamp, times with 3 decimals, and the
 * warnings and every check's detail in the suite's `<system-out>`.
 */
export function renderJunit(evidence: Evidence): string {
  const suite = `atl.${evidence.verb}`;
  const count = (pred: (c: Check) => boolean) => String(evidence.checks.filter(pred).length);
  const out = [
    ...evidence.checks.filter((c) => c.status === 'warn').map((c) => `WARN ${c.id}: ${detail(c)}`),
    ...evidence.warnings.map((w) => `warning: ${clean(w)}`),
    ...evidence.checks
      .filter((c) => c.status === 'pass')
      .map((c) => `${c.skipped ? 'SKIP' : 'PASS'} ${c.id}: ${detail(c)}`),
  ].join('\n');
  const doc = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    testsuites: {
      testsuite: {
        '@_name': suite,
        '@_package': 'atl',
        '@_id': '0',
        '@_tests': String(evidence.checks.length),
        '@_failures': count((c) => !c.skipped && c.status === 'fail'),
        '@_errors': count((c) => !c.skipped && c.status === 'unknown'),
        '@_skipped': count((c) => c.skipped === true),
        '@_time': seconds(Date.parse(evidence.finished_at) - Date.parse(evidence.started_at)),
        '@_timestamp': evidence.started_at.slice(0, 19),
        '@_hostname': clean(evidence.host) || 'localhost',
        properties: {
          property: [
            ['run_id', evidence.run_id],
            ['status', evidence.status],
            ['exit_code', String(evidence.exit_code)],
            ['tool', `${evidence.tool.name} ${evidence.tool.version}`],
          ].map(([name, value]) => ({ '@_name': name, '@_value': clean(value ?? '') })),
        },
        testcase: evidence.checks.map((c) => testcase(c, suite)),
        'system-out': out,
        'system-err': '',
      },
    },
  };
  const builder = new XMLBuilder({
    ignoreAttributes: false,
    format: true,
    indentBy: '  ',
    processEntities: true,
  });
  return builder.build(doc) as string;
}
