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

/** One check as a testcase: fail → <failure>, unknown → <error> (could not evaluate), n/a → <skipped>, warn → passes with its text in <system-out>. */
function testcase(c: Check, suite: string): Record<string, unknown> {
  const attrs = { '@_classname': suite, '@_name': clean(c.id), '@_time': '0.000' };
  const message = clean(c.hint ? `${c.output} — ${c.hint}` : c.output);
  if (c.skipped) return { ...attrs, skipped: { '@_message': message } };
  switch (c.status) {
    case 'fail':
      return { ...attrs, failure: { '@_message': message, '@_type': 'fail', '#text': detail(c) } };
    case 'unknown':
      return { ...attrs, error: { '@_message': message, '@_type': 'unknown', '#text': detail(c) } };
    case 'warn':
      return { ...attrs, 'system-out': `WARN: ${detail(c)}` };
    default:
      return { ...attrs, 'system-out': detail(c) };
  }
}

/** JUnit XML of an evidence envelope: one `<testsuite>` per verb run, one `<testcase>` per check. */
export function renderJunit(evidence: Evidence): string {
  const suite = `atl.${evidence.verb}`;
  const count = (pred: (c: Check) => boolean) => String(evidence.checks.filter(pred).length);
  const failures = count((c) => !c.skipped && c.status === 'fail');
  const errors = count((c) => !c.skipped && c.status === 'unknown');
  const skipped = count((c) => c.skipped === true);
  const time = seconds(Date.parse(evidence.finished_at) - Date.parse(evidence.started_at));
  const totals = {
    '@_tests': String(evidence.checks.length),
    '@_failures': failures,
    '@_errors': errors,
    '@_skipped': skipped,
    '@_time': time,
  };
  const doc = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    testsuites: {
      '@_name': `atl ${evidence.verb}`,
      ...totals,
      testsuite: {
        '@_name': suite,
        ...totals,
        // The windyroad XSD wants a timestamp without a zone; it is UTC.
        '@_timestamp': evidence.started_at.slice(0, 19),
        '@_hostname': clean(evidence.host),
        properties: {
          property: [
            ['run_id', evidence.run_id],
            ['status', evidence.status],
            ['exit_code', String(evidence.exit_code)],
            ['tool', `${evidence.tool.name} ${evidence.tool.version}`],
          ].map(([name, value]) => ({ '@_name': name, '@_value': clean(value ?? '') })),
        },
        testcase: evidence.checks.map((c) => testcase(c, suite)),
      },
    },
  };
  const builder = new XMLBuilder({
    ignoreAttributes: false,
    format: true,
    indentBy: '  ',
    suppressEmptyNode: true,
    processEntities: true,
  });
  return builder.build(doc) as string;
}
