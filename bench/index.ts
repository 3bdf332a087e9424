/**
 * `bun run bench`: runs every benchmark in its own process (so peak RSS is per benchmark) and
 * lets each print its own figures. `bun run bench NAME…` runs only those (flags after the
 * names go to each). Soaks take minutes and run only when named.
 */
import { join } from 'node:path';

const BENCHES: Record<string, string> = {
  b1: 'b1-replay.ts',
  b3: 'b3-reports.ts',
  b4: 'b4-status.ts',
  b5: 'b5-features.ts',
  b6: 'b6-audit.ts',
  'api-load': 'api-load.ts',
  'live-feed': 'live-feed.ts',
  'soak-kill': 'soak-kill.ts',
  parity: 'parity.ts',
};
const NAMED_ONLY = new Set(['soak-kill']);

const argv = process.argv.slice(2);
// Names first, then flags for the benchmarks (`bun run bench soak-kill -- --cycles 10`).
const firstFlag = argv.findIndex((a) => a.startsWith('-'));
const wanted = firstFlag < 0 ? argv : argv.slice(0, firstFlag);
const passed = firstFlag < 0 ? [] : argv.slice(firstFlag).filter((a) => a !== '--');
const names = wanted.length > 0 ? wanted : Object.keys(BENCHES).filter((n) => !NAMED_ONLY.has(n));
let failed = 0;
for (const name of names) {
  const file = BENCHES[name];
  if (!file) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}`);
    process.exit(64);
  }
  console.log(`\n== ${name} (${file})`);
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, file), ...passed], {
    stdout: 'inherit',
    stderr: 'inherit',
  });
  if ((await proc.exited) !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
