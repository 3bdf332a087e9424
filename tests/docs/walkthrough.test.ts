/**
 * A fresh-clone walkthrough of README.md and docs/RUNBOOK.md (issue 16: "every shown command runs
 * unchanged"). Every command the two documents show — fenced sh / cron lines and command code spans
 * (tests/docs/shown-commands.ts) — is, in this file, exactly one of:
 *   - a STEP: run as written, in the documents' order, and held to the exit code they state or imply;
 *   - NOT_HERE: cannot run on this machine, with the reason (a Windows host, a systemd user manager,
 *     a real SSH host, the internet, a download, a benchmark);
 *   - a MENTION: a fragment or template in prose (`npx atl <verb>`, `tail -F`), not a command.
 * A command the documents add or change fails the test until it is placed in one of them, and an
 * entry for a command the documents no longer show fails it too.
 *
 * "As written" on a fresh machine: the checkout is a copy of this tree's files (tracked and new, as
 * `git ls-files` lists them) with this checkout's node_modules linked in place of `npm install`.
 * Each command runs in its own mount, network and pid namespace (root on Linux), where scratch
 * directories are mounted over /srv, /opt, /var/lib, /home and /tmp, so absolute paths such as
 * `/srv/atl`, `/var/lib/atl` or `/tmp/models` land in scratch and nothing on the host is touched;
 * the checkout is at `/opt/atl` (the crontab's) and `~/atl` (the RUNBOOK's `ATL`), HOME is
 * `/home/trader`, PATH is the system's (no bun on it: npx provides it), and there is no network
 * but loopback. The RUNBOOK's placeholders are replaced by its own examples (its Conventions:
 * `ATL` → `~/atl`, `DATA` → `~/atl-data`). A command that runs until stopped is stopped the way a
 * person does (Ctrl+C: SIGINT to its process group) once its heartbeat shows what the step waits for.
 *
 * Steps marked `slow` wait on the wall clock (a one-minute candle's close, a 48 s paced replay, the
 * README's 5-minute loopback session); they run with ATL_WALKTHROUGH_SLOW=1 and are listed, with
 * that reason, otherwise.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO, SHARED_MARKET, tempDir } from '../support/cli.ts';
import { cronCommand, type Shown, shownCommands } from './shown-commands.ts';

const DOCS = ['README.md', 'docs/RUNBOOK.md'];
const shown = shownCommands(REPO, DOCS);
const SLOW = process.env.ATL_WALKTHROUGH_SLOW === '1';

/** Why each command that is shown cannot run on this machine. */
const NOT_HERE: Record<string, string> = {
  'npm install':
    'downloads the dependencies: the walkthrough links this checkout’s node_modules (what npm install made) instead',
  'cd ATL && npm install': 'npm install: see above; every step runs from the checkout (`cd ATL`)',
  'npm install && npm test':
    'npm test is the whole suite, which contains this walkthrough; the lead runs it (the `npm install` part: see above)',
  'npm test': 'the whole suite, which contains this walkthrough',
  'npm run bench soak-kill':
    'a benchmark (minutes of CPU on shared cores): bench/ is run by `npm run bench`, never by tests',
  'npm run bench -- b5': 'a benchmark (see soak-kill)',
  'B1_ENSEMBLE=1 npm run bench -- b1': 'a benchmark (see soak-kill)',
  'npm run bench -- api-load': 'a benchmark (see soak-kill)',
  'npm run bench -- b3': 'a benchmark (see soak-kill)',
  'npm run bench -- b1': 'a benchmark (see soak-kill)',
  'npm run bench': 'every benchmark (see soak-kill)',
  'npm run bench -- b4': 'a benchmark (see soak-kill)',
  'npm run typecheck':
    'the lead’s gate over the whole tree (tsc, tens of seconds of both cores); `npm run lint` runs here',
  'npx atl doctor':
    'asks the real exchange (binance) over the internet; the loopback version `npx atl doctor --exchange-url …` runs',
  'npx bun ops/linux.ts install --data-dir DATA':
    'needs a systemd user manager (systemctl --user; this machine has no user bus): tests/hosts/linux-systemctl.test.ts runs it against a fake systemctl, and the steps below start the engine as its unit would',
  'npx bun ops/linux.ts install --data-dir DATA --min-ratio 2.5 --max-daily 6':
    'a systemd user manager (see install)',
  'npx bun ops/linux.ts run --data-dir DATA': 'a systemd user manager (see install)',
  'npx bun ops/linux.ts stop --data-dir DATA': 'a systemd user manager (see install)',
  'npx bun ops/linux.ts verify --data-dir DATA': 'a systemd user manager and linger (see install)',
  'npx bun ops/linux.ts uninstall --data-dir DATA':
    'a systemd user manager (see install; its failures are tested with a fake systemctl)',
  'systemctl --user daemon-reload': 'a systemd user manager',
  'systemctl --user reset-failed atl-paper-live && systemctl --user start atl-paper-live':
    'a systemd user manager',
  'systemctl --user start atl-paper-live': 'a systemd user manager',
  'systemctl --user restart atl-paper-live': 'a systemd user manager',
  'systemctl --user is-enabled atl-paper-live': 'a systemd user manager',
  'journalctl --user -u atl-paper-live': 'a systemd user journal',
  'sudo loginctl enable-linger $USER': 'changes logind for a real user (root and systemd-logind)',
  'loginctl enable-linger USER': 'changes logind for a real user (root and systemd-logind)',
  'loginctl show-user $USER --property=Linger': 'systemd-logind, which does not run here',
  'systemctl enable --now ssh': 'starts the system’s OpenSSH server (a host change, root)',
  'tail -F DATA/logs/engine.log':
    'follows the log until Ctrl+C; the log it reads is checked by the grep step',
  'cd ATL; npm install': 'PowerShell on a Windows host',
  'npx bun ops\\windows.ts install --data-dir C:\\atl-data --dry-run':
    'PowerShell on a Windows host (the Linux plan of a Windows install is tests/hosts/ops-dry-run.test.ts)',
  'npx bun ops\\windows.ts install --data-dir C:\\atl-data':
    'a Windows host (Task Scheduler, elevated PowerShell)',
  'npx bun ops\\windows.ts run --data-dir DATA': 'a Windows host',
  'npx bun ops\\windows.ts stop --data-dir DATA': 'a Windows host',
  'npx bun ops\\windows.ts verify --data-dir DATA': 'a Windows host',
  'npx bun ops\\windows.ts uninstall --data-dir DATA': 'a Windows host',
  'npx bun ops\\windows.ts stop': 'a Windows host',
  'schtasks /Run /TN atl-paper-live': 'a Windows host',
  'Get-Content DATA\\logs\\engine.log -Wait -Tail 50':
    'a Windows host (PowerShell), and it follows until stopped',
  'New-Item DATA\\logs\\stop.request':
    'a Windows host (PowerShell); the stop-request path is tests/hosts/stop-request.test.ts',
  "npx atl ssh-check spark --user trader --identity ~/.ssh/id_ed25519 --remote-verify --remote-atl '/home/trader/atl/node_modules/.bin/bun /home/trader/atl/cli/main.ts' --remote-data-dir /home/trader/atl-data":
    'a real remote SSH host named spark (tests/hosts/ssh-check.test.ts runs the ladder against a loopback sshd)',
  'npx bun ops/fleet.ts --hosts hosts.json':
    'the real hosts of hosts.json over SSH (its --dry-run runs here)',
};

/** Shown, but not a command: a template, a fragment named in prose, or what a benchmark measured. */
const MENTIONS: Record<string, string> = {
  'npx atl <verb> [flags]': 'template',
  'npx atl <verb>': 'template',
  'npx atl': 'the spelling, in prose',
  'npx atl run': 'the verb, in prose (what Ctrl+C on it reports)',
  'npx bun ops/linux.ts …': 'template',
  'npx bun ops/<script>.ts': 'template',
  'npx bun ops/<os>.ts verify --data-dir DATA': 'template (linux or windows)',
  'npx bun ops/linux.ts install|uninstall|run|stop|verify|linger': 'template (one action)',
  'npx bun ops/windows.ts install|uninstall|run|stop|verify': 'template (one action)',
  'npx atl emergency-stop': 'the verb named in prose; its full spelling (`--reason …`) is a step',
  'cd ATL': 'the convention (every step runs from the checkout)',
  'systemctl --user': 'a program named in prose',
  'systemctl --user show': 'what verify reads, named in prose',
  'tail -F': 'named in prose (follows a rotation)',
  'Get-Content -Wait': 'named in prose (follows a rotation)',
  'schtasks /Create /TN atl-paper-live /XML … /F': 'what install runs, with the XML path elided',
  'schtasks /Query /XML': 'what verify runs, named in prose',
  'schtasks /End': 'what stop runs, named in prose',
  'export XDG_RUNTIME_DIR=/run/user/$(id -u)':
    'the fix for a shell without a user bus; without a user manager there is nothing for it to reach',
  'bun -e 0': 'what a benchmark measured (bun itself is `npx bun` here)',
  'bun -e "import \'citty\'"': 'what a benchmark measured',
  'bun build --splitting': 'a packaging option weighed in prose',
  'bun build --compile': 'a packaging option weighed in prose',
  'npx atl run --log-max-bytes N':
    'template (N bytes); tests/records/rotation.test.ts runs it with real sizes',
  'ATL_DECISION_LOG_MAX_BYTES=268435456': 'a line of the env file, not a command',
  'ATL_DECISION_LOG_KEEP=28': 'a line of the env file, not a command',
  'ATL_OUTCOME_LOG_KEEP=28': 'a line of the env file, not a command',
};

type Expect = { exit: number | number[]; why?: string; stdout?: RegExp; stderr?: RegExp; quiet?: RegExp };
type Step = {
  /** Doc commands run in one shell session, in order (a background server, then its clients). */
  commands: string[];
  expect: Expect[];
  /**
   * The first command runs until stopped: Ctrl+C once its stderr (or `file`, a path inside) matches.
   * Under npx a Ctrl+C reaches npx too, which reports 130 once the engine has stopped (README, Exit codes).
   */
  until?: { pattern: RegExp; file?: string; timeoutS: number };
  /** The shown text this step runs part of (`npm install && npm run demo` runs `npm run demo`; npm install: NOT_HERE). */
  partOf?: string;
  /** What the documents imply is there before the step, done the way the step's text says. */
  before?: () => Promise<void> | void;
  /** The documented result cannot happen yet for a cause outside the walkthrough: it runs and must still fail. */
  broken?: string;
  slow?: string;
  env?: Record<string, string>;
  shell?: 'bash' | 'sh';
  timeoutS?: number;
};

const ok: Expect = { exit: 0 };
const RUNNING = /engine running: /;
const TICKED = /"seq":\s*[1-9]/;
/** A Ctrl+C'd `npx atl run`: npx's 130, the engine's own clean stop in its summary. */
const CTRL_C: Expect = { exit: 130, stdout: /— stopped \(signal\)/ };

// ---- the namespace: scratch over /srv /opt /var/lib /home /tmp, the checkout at /opt/atl and ~/atl ----

const canIsolate = (() => {
  if (process.platform !== 'linux') return 'the walkthrough needs Linux namespaces';
  const r = Bun.spawnSync(['unshare', '--mount', '--net', '--pid', '--fork', 'true'], { stderr: 'pipe' });
  return r.exitCode === 0
    ? null
    : `cannot create namespaces here (${r.stderr.toString().trim() || 'not root?'})`;
})();
if (canIsolate) console.warn(`tests/docs/walkthrough.test.ts skipped: ${canIsolate}`);

const scratch = tempDir('atl-walk-');
afterAll(() => scratch[Symbol.dispose]());
const S = scratch.path;
const inside = (p: string) => join(S, 'mounts', p); // scratch path of an absolute path inside
const CLONE = join(S, 'clone');
const RESULTS = inside('opt/.walk');
const HOME = '/home/trader';
const CHECKOUT = `${HOME}/atl`;

function freshClone() {
  for (const d of ['srv', 'opt/atl', 'var/lib', 'home/trader/atl', 'tmp'])
    mkdirSync(inside(d), { recursive: true });
  const files = Bun.spawnSync(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO,
  })
    .stdout.toString()
    .split('\0')
    .filter((f) => f && existsSync(join(REPO, f)));
  for (const f of files) {
    mkdirSync(dirname(join(CLONE, f)), { recursive: true });
    copyFileSync(join(REPO, f), join(CLONE, f));
    Bun.spawnSync(['chmod', '--reference', join(REPO, f), join(CLONE, f)]);
  }
  symlinkSync(join(REPO, 'node_modules'), join(CLONE, 'node_modules'));
}

const PRELUDE = `set -u
ip link set lo up
mount --bind ${inside('srv')} /srv
mount --bind ${inside('var/lib')} /var/lib
mount --bind ${inside('opt')} /opt && mount --bind ${CLONE} /opt/atl
mount --bind ${inside('home')} /home && mount --bind ${CLONE} ${CHECKOUT}
mount --bind ${inside('tmp')} /tmp
mount -t proc proc /proc
cd ${CHECKOUT}
`;

const PLAIN_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME,
  USER: 'trader',
  LOGNAME: 'trader',
  LANG: 'C.UTF-8',
  TERM: 'dumb',
};

/** The RUNBOOK's placeholders, from its Conventions paragraph (`ATL` is the checkout (e.g. `~/atl` …). */
const PLACEHOLDERS = (() => {
  const runbook = readFileSync(join(REPO, 'docs/RUNBOOK.md'), 'utf8');
  const atl = /`ATL`\s+is\s+the\s+checkout\s+\(e\.g\.\s+`([^`]+)`/.exec(runbook)?.[1];
  const data = /`DATA`\s+the\s+data\s+root\s+\(e\.g\.\s+`([^`]+)`/.exec(runbook)?.[1];
  if (!atl || !data)
    throw new Error('docs/RUNBOOK.md: the Conventions paragraph no longer names ATL and DATA examples');
  return { ATL: atl, DATA: data };
})();
const fill = (cmd: string) =>
  cmd.replace(/\bDATA\b/g, PLACEHOLDERS.DATA).replace(/\bATL\b/g, PLACEHOLDERS.ATL);

type Ran = { code: number; stdout: string; stderr: string };

/** Run a session of commands inside the namespace; one result per command. */
async function session(step: Step): Promise<Ran[]> {
  const lines: string[] = [];
  // Results go where the namespace still sees them (/tmp, where scratch lives, is covered).
  rmSync(RESULTS, { recursive: true, force: true });
  mkdirSync(RESULTS, { recursive: true });
  step.commands.forEach((raw, i) => {
    const cmd = step.shell === 'sh' ? `sh -c ${shq(fill(raw))}` : fill(raw);
    lines.push(`exec >/opt/.walk/out.${i} 2>/opt/.walk/err.${i}`);
    if (step.until && i === 0) {
      const hb = step.until.file ?? `/opt/.walk/err.${i}`;
      lines.push(
        `set -m; ${cmd} & job=$!; set +m`,
        `for _ in $(seq ${step.until.timeoutS * 5}); do grep -Eq ${shq(step.until.pattern.source)} ${hb} 2>/dev/null && break; kill -0 $job 2>/dev/null || break; sleep 0.2; done`,
        'kill -INT -- -$job 2>/dev/null; wait $job',
      );
    } else if (/&$/.test(raw.trim())) {
      const port = /--port (\d+)/.exec(raw)?.[1] ?? '8080';
      lines.push(
        cmd,
        `for _ in $(seq 150); do (exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null && break; sleep 0.2; done`,
      );
    } else lines.push(cmd);
    lines.push(`echo $? > /opt/.walk/code.${i}`);
  });
  const proc = Bun.spawn(
    [
      'unshare',
      '--mount',
      '--net',
      '--pid',
      '--fork',
      '--propagation',
      'private',
      'bash',
      '-c',
      PRELUDE + lines.join('\n'),
    ],
    { env: { ...PLAIN_ENV, ...step.env }, stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' },
  );
  const timer = setTimeout(() => proc.kill('SIGKILL'), (step.timeoutS ?? 120) * 1000);
  const [, err] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return step.commands.map((_, i) => {
    const read = (f: string) =>
      existsSync(`${RESULTS}/${f}.${i}`) ? readFileSync(`${RESULTS}/${f}.${i}`, 'utf8') : '';
    const code = read('code').trim();
    return {
      code: code === '' ? -1 : Number(code),
      stdout: read('out'),
      stderr: read('err') || (code === '' ? err : ''),
    };
  });
}

const shq = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

// ---- the walkthrough, in the documents' order ----

const yesterday = () => new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const weekAgo = () => new Date(Date.now() - 7 * 86_400_000).toISOString().slice(0, 10);
const ethBtc = join(SHARED_MARKET, 'ETH_BTC-1m.json');

/** Setup done inside the namespace, where a document implies it (not a shown command). */
async function prepare(commands: string[], until?: Step['until']) {
  const r = await session({ commands, expect: [], until, timeoutS: 120 });
  for (const [i, x] of r.entries())
    if (x.code !== (until ? CTRL_C.exit : 0))
      throw new Error(`setup \`${commands[i]}\` exited ${x.code}: ${x.stderr}`);
  return r;
}

const STEPS: Step[] = [
  // README: Development (first, before the walkthrough adds files to the checkout)
  { commands: ['npm run lint'], expect: [ok], timeoutS: 120 },
  // README: Quickstart
  {
    commands: ['npm run demo'],
    partOf: 'npm install && npm run demo',
    // issue 16: every npm command warned about an unknown `onnxruntime-node-install` config.
    expect: [{ exit: 0, stdout: /atl run backtest — completed/, quiet: /npm warn/i }],
  },
  { commands: ['npx atl --help'], expect: [{ exit: 0, stdout: /Usage: npx atl <verb>/ }] },
  // The demo's backtest holds the bar the README's `why` example shows.
  {
    commands: ['npx atl why BTC/USDT 2026-05-05T09:00Z'],
    expect: [{ exit: 0, stdout: /BTC\/USDT 1h bar closing 2026-05-05T09:00:00.000Z/ }],
  },
  {
    commands: ['npx atl decisions --symbol BTC/USDT --blocked-by turnover --since 2026-05-01'],
    expect: [{ exit: 0, stdout: /decisions match/ }],
  },
  {
    commands: ['npx atl audit'],
    expect: [{ exit: 0 }],
  },
  // README: paper synthetic time (a run at the default pace waits for the hour's close: stopped once running).
  {
    commands: ['npx atl run --mode paper_synthetic --data-dir ./ps'],
    until: { pattern: RUNNING, timeoutS: 60 },
    expect: [CTRL_C],
  },
  {
    commands: ['npx atl run --mode paper_synthetic --speed 3600 --max-bars 48 --data-dir ./ps'],
    expect: [{ exit: 0, stdout: /48 ticks/ }],
    slow: 'replays 48 bars at one a second (48 s of wall clock)',
    timeoutS: 180,
  },
  // README: Models
  { commands: ['npx atl train --models-dir /tmp/models'], expect: [ok] },
  {
    commands: ['npx atl train --candles ETH_BTC-1m.json --symbols ETH/BTC --models-dir /tmp/models'],
    expect: [ok],
    before: () => {
      if (!existsSync(ethBtc))
        throw new Error(`no ${ethBtc}: the README's candle file is not on this machine`);
      copyFileSync(ethBtc, join(CLONE, 'ETH_BTC-1m.json'));
    },
  },
  { commands: ['npx atl run --models-dir /tmp/models --voting majority'], expect: [ok], timeoutS: 300 },
  { commands: ['npx atl train --symbols BTC/USDT --data-dir /srv/atl'], expect: [ok] },
  {
    commands: ['npx atl run --symbols BTC/USDT --data-dir /srv/atl'],
    expect: [{ exit: 0, stdout: /models: .*\/srv\/atl\/models|decisions/ }],
    timeoutS: 300,
  },
  {
    commands: ['npx atl audit --data-dir /srv/atl'],
    expect: [ok],
  },
  // README: Risk and promotion — a paper-live data root, judged for the step to testnet: blocked (2).
  {
    commands: ['npx atl check-transition testnet --data-dir /srv/atl/paper-live'],
    expect: [
      {
        exit: 2,
        stdout: /BLOCKED|FAIL/,
        why: 'a minutes-old paper-live root has none of the 14 days and 100 trades testnet asks for',
      },
    ],
    before: () =>
      prepare(['npx atl run --mode paper_live_data --data-dir /srv/atl/paper-live'], {
        pattern: RUNNING,
        timeoutS: 60,
      }).then(() => undefined),
  },
  // README: HTTP API — the server in the background, two clients, then stopped.
  {
    commands: [
      'export ATL_API_KEY="$(openssl rand -base64 32)"',
      'npx atl serve --data-dir ./data &',
      'curl -s localhost:8080/health',
      'curl -s -H "X-API-Key: $ATL_API_KEY" "localhost:8080/api/decisions?limit=5&symbol=BTC/USDT"',
      'kill %1',
    ],
    expect: [ok, ok, { exit: 0, stdout: /"status"/ }, { exit: 0, stdout: /"BTC\/USDT"/ }, ok],
  },
  // README: Evidence on a schedule — a paper_synthetic engine on /var/lib/atl covering the last days
  // (README: a faster pace starts a week back and replays up to now), START the Monday a week ago.
  {
    commands: [
      'cd /opt/atl && npx atl health-daily --date "$(date -u -d yesterday +\\%F)" --data-dir /var/lib/atl >> /var/lib/atl/logs/cron.log 2>&1',
      'cd /opt/atl && npx atl report-weekly --week "$(( ($(date -u +\\%s) - $(date -u -d "$START" +\\%s)) / 604800 ))" --data-dir /var/lib/atl >> /var/lib/atl/logs/cron.log 2>&1',
    ],
    shell: 'sh',
    expect: [
      { exit: [0, 1, 2], why: 'HEALTHY, WARNING or CRITICAL: a verdict, not 3 (no log) or 64' },
      { exit: [0, 1, 2], why: 'a verdict, not 3 or 64' },
    ],
    before: async () => {
      await prepare([
        'npx atl run --mode paper_synthetic --speed 360000 --max-bars 240 --symbols BTC/USDT --data-dir /var/lib/atl',
      ]);
    },
  },
  // README: Live market data — no internet here: the engine starts and records data_fetch holds (README), stopped once running.
  {
    commands: ['npx atl run --mode paper_live_data --timeframe 1m --interval 60 --data-dir ./pl'],
    until: { pattern: RUNNING, timeoutS: 60 },
    expect: [CTRL_C],
  },
  // README: the 5-minute loopback session.
  {
    commands: [
      'npx bun tests/support/fake-binance.ts --port 8899 &',
      'npx atl doctor --exchange-url http://127.0.0.1:8899',
      'npx atl run --mode paper_live_data --timeframe 1m --interval 60 --max-bars 5 --exchange-url http://127.0.0.1:8899 --data-dir /tmp/pl --fresh',
      'npx atl status --data-dir /tmp/pl',
      'wc -l /tmp/pl/rl/shadow_decisions.jsonl',
      'kill %1',
    ],
    expect: [ok, { exit: [0, 1] }, ok, ok, { exit: 0, stdout: /^16 / }, ok],
    slow: 'five one-minute candles at their real pace (5 minutes of wall clock)',
    timeoutS: 480,
  },
  // README: Parity — one live tick (the next minute's close), then the replay comparison.
  {
    commands: [
      'npx atl run --mode paper_live_data --timeframe 1m --interval 60 --data-dir ./pl --fresh',
      'npx atl parity --data-dir ./pl',
    ],
    until: { pattern: TICKED, file: './pl/rl/paper_live_heartbeat.json', timeoutS: 75 },
    expect: [CTRL_C, { exit: 0, stdout: /IDENTICAL/ }],
    slow: 'waits for a one-minute candle to close (up to 60 s of wall clock)',
    timeoutS: 180,
  },
  // RUNBOOK: Linux install plan, then the engine started the way the planned unit starts it.
  {
    commands: ['npx bun ops/linux.ts install --data-dir DATA --dry-run'],
    expect: [{ exit: 0, stdout: /ExecStart=/ }],
  },
  {
    commands: ['npx atl status --data-dir DATA'],
    expect: [{ exit: 0, stdout: /mode {8}paper_live_data/ }],
    before: () => startAsTheUnitWould(),
  },
  {
    commands: ["grep 'turnover overrides' DATA/logs/engine.log | tail -1"],
    expect: [{ exit: 0, stdout: /Paper-live turnover overrides: min_ratio=2\.5 max_daily=6/ }],
  },
  // RUNBOOK: Log retention, on the data root the unit-like engine wrote.
  { commands: ['npx atl audit --data-dir DATA'], expect: [{ exit: 0, stdout: /from genesis/ }] },
  {
    commands: ['ls DATA/rl/shadow_decisions.*.jsonl'],
    expect: [{ exit: 2, why: 'no archive yet: a few minutes of paper-live log is far below 256 MiB' }],
  },
  { commands: ['npx atl train --data-dir DATA'], expect: [ok] },
  {
    commands: ['npx atl emergency-stop --reason "what happened" --data-dir DATA'],
    expect: [{ exit: 0 }],
  },
  { commands: ['npx atl status --data-dir DATA'], expect: [{ exit: 2, stdout: /HALTED {6}what happened/ }] },
  {
    commands: ['npx atl emergency-stop --clear --approver "your name" --data-dir DATA'],
    expect: [ok],
  },
  { commands: ['npx atl emergency-stop --clear --approver NAME'], expect: [ok] },
  {
    commands: ['npx atl verify'],
    expect: [{ exit: 2, why: 'no engine runs on the default data root: the one-engine gate fails' }],
  },
  // RUNBOOK: the fleet plan with the hosts.json it shows (its key files beside it, as it implies).
  {
    commands: ['npx bun ops/fleet.ts --hosts hosts.json --dry-run'],
    expect: [{ exit: 0, stdout: /ssh-check/ }],
    before: () => {
      const runbook = readFileSync(join(REPO, 'docs/RUNBOOK.md'), 'utf8');
      const json = /```json\n([\s\S]*?)```/.exec(runbook)![1]!;
      Bun.write(join(CLONE, 'hosts.json'), json);
      mkdirSync(join(CLONE, 'keys'), { recursive: true });
      for (const f of ['id_ed25519', 'known_hosts']) Bun.write(join(CLONE, 'keys', f), '');
    },
  },
  // RUNBOOK: archive the default root's run and start over.
  { commands: ['npx atl run --fresh'], expect: [{ exit: 0, stdout: /archived|completed/ }], timeoutS: 300 },
];

/**
 * What `systemctl --user start` does with the unit `install --dry-run` plans (with the RUNBOOK's
 * changed overrides): ExecStart with the env file's variables, output appended to DATA/logs/engine.log;
 * stopped with the unit's KillSignal (SIGTERM) once running.
 */
async function startAsTheUnitWould() {
  const [plan] = await prepare([
    'npx bun ops/linux.ts install --data-dir DATA --min-ratio 2.5 --max-daily 6 --dry-run',
  ]);
  const steps = JSON.parse(plan!.stdout).steps as { write?: string; content?: string }[];
  const unit = steps.find((s) => s.write?.endsWith('.service'))!.content!;
  const envFile = steps.find((s) => s.write?.endsWith('.env'))!.content!;
  const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!;
  const log = /^StandardOutput=append:(.*)$/m.exec(unit)![1]!;
  const env = envFile
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => `export ${l}`)
    .join('; ');
  const r = await session({
    commands: [`mkdir -p "$(dirname ${log})"; ${env}; exec ${exec} >> ${log} 2>&1`],
    expect: [],
    until: { pattern: RUNNING, file: log, timeoutS: 60 },
  });
  expect(r[0]!.code).toBe(0); // bun itself, as the unit runs it: SIGINT → 0
}

// ---- the checks ----

const stepTexts = STEPS.flatMap((s) => (s.partOf ? [s.partOf] : s.commands));
const placed = new Set([...stepTexts, ...Object.keys(NOT_HERE), ...Object.keys(MENTIONS)]);

describe('README and RUNBOOK: every shown command is accounted for', () => {
  test('each shown command is a step, not runnable here (with the reason), or a mention', () => {
    const unplaced = shown.filter((s) => !placed.has(s.text)).map((s) => `${s.where[0]}: ${s.text}`);
    expect(unplaced).toEqual([]);
  });

  test('every entry names a command the documents still show', () => {
    const texts = new Set(shown.map((s) => s.text));
    const stale = [...placed].filter((t) => !texts.has(t));
    expect(stale).toEqual([]);
  });

  test('no command is both run and excused', () => {
    const run = new Set(stepTexts);
    expect(Object.keys(NOT_HERE).filter((t) => run.has(t) || t in MENTIONS)).toEqual([]);
  });

  test('cli/main.ts is committed executable, so the chmod npm install makes leaves a fresh clone unmodified', () => {
    const entry = Bun.spawnSync(['git', 'ls-files', '-s', 'cli/main.ts'], { cwd: REPO }).stdout.toString();
    expect(entry).toStartWith('100755 ');
  });

  test('cron lines run with their crontab variables', () => {
    const cron = shown.filter((s): s is Shown & { cronEnv: Record<string, string> } => s.kind === 'cron');
    expect(cron.length).toBeGreaterThan(0);
    for (const c of cron) expect(c.cronEnv.CRON_TZ).toBe('UTC');
  });
});

describe.skipIf(canIsolate !== null)('a fresh-clone walkthrough runs every shown command unchanged', () => {
  test('the clone', () => {
    freshClone();
    expect(readdirSync(CLONE)).toContain('README.md');
  });

  for (const step of STEPS) {
    const name = step.commands.join(' ; ');
    const run = test.skipIf(Boolean(step.slow) && !SLOW);
    if (step.slow && !SLOW)
      console.warn(`walkthrough: not run without ATL_WALKTHROUGH_SLOW=1 (${step.slow}): ${name}`);
    run(
      name,
      async () => {
        await step.before?.();
        const cron = shown.find((s) => s.kind === 'cron' && step.commands.includes(s.text));
        const env = cron ? { ...cron.cronEnv, START: weekAgo() } : undefined;
        const results = await session({
          ...step,
          env: { ...env, ...step.env },
          commands: cron ? step.commands.map(cronCommand) : step.commands,
        });
        const verdicts = results.map((r, i) => {
          const want = step.expect[i]!;
          const exits = Array.isArray(want.exit) ? want.exit : [want.exit];
          const good =
            exits.includes(r.code) &&
            (!want.stdout || want.stdout.test(r.stdout)) &&
            (!want.stderr || want.stderr.test(r.stderr)) &&
            !want.quiet?.test(r.stderr);
          return {
            command: step.commands[i],
            good,
            code: r.code,
            stderr: r.stderr.trim().split('\n').slice(-3).join('\n'),
          };
        });
        if (step.broken) {
          // Fails today for the stated cause; when it passes, move it out of `broken`.
          expect(
            verdicts.every((v) => v.good),
            `now passes — drop \`broken\` (${step.broken})`,
          ).toBe(false);
          return;
        }
        expect(verdicts.filter((v) => !v.good)).toEqual([]);
        if (cron) {
          expect(existsSync(inside(`var/lib/atl/reports/daily_shadow_health_${yesterday()}.json`))).toBe(
            true,
          );
          expect(existsSync(inside(`var/lib/atl/reports/weekly_shadow_report_${yesterday()}.json`))).toBe(
            true,
          );
        }
      },
      ((step.timeoutS ?? 120) + 60) * 1000,
    );
  }
});
