/**
 * `bun run bench`: runs every benchmark in its own process (so peak RSS is per benchmark) and
 * lets each print its own figures. `bun run bench NAME…` runs only those.
 */
import { join } from 'node:path';

const BENCHES: Record<string, string> = {
  b1: 'b1-replay.ts',
  b3: 'b3-reports.ts',
  b4: 'b4-status.ts',
  b5: 'b5-features.ts',
  'api-load': 'api-load.ts',
  'live-feed': 'live-feed.ts',
  parity: 'parity.ts',
};

const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : Object.keys(BENCHES);
let failed = 0;
for (const name of names) {
  const file = BENCHES[name];
  if (!file) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}`);
    process.exit(64);
  }
  console.log(`\n== ${name} (${file})`);
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, file)], {
    stdout: 'inherit',
    stderr: 'inherit',
  });
  if ((await proc.exited) !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
