#!/usr/bin/env bun
/**
 * Linux host: the engine as a systemd user service.
 *   bun ops/linux.ts install|uninstall|run|stop|verify|linger [flags] [--dry-run]
 * Prints one JSON object on stdout; exit codes per SPEC §6.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { usageError } from '../core/errors.ts';
import { dataPaths, REPO_ROOT, resolveDataRoot } from '../core/paths.ts';
import {
  currentUserName,
  HostScript,
  nestAtlVerify,
  numberArg,
  parseFlags,
  parseJson,
  runScript,
} from './_script.ts';
import { NO_RESTART_EXITS, SERVICE_DEFAULTS, SERVICE_FLAGS, serviceFromFlags } from './engine-service.ts';
import { judgeLinger, renderEnvFile, renderUnit, systemctlFailure, unitComplaint } from './systemd-unit.ts';

const USAGE = `npx bun ops/linux.ts <install|uninstall|run|stop|verify|linger> [flags]
  --data-dir DIR      engine data root (default: env ATL_HOME, else the repository data/)
  --unit NAME         systemd user unit name (default ${SERVICE_DEFAULTS.name})
  --mode M --interval S --capital N --symbols LIST   how the engine runs (install)
  --min-ratio X --max-daily N   turnover overrides (install; defaults 2.0 and 10)
  --restart-sec S     RestartSec (default 10)   --stop-timeout S   TimeoutStopSec (default 90)
  --bun PATH --repo DIR   the bun binary and atl checkout the unit runs (default: this ones)
  --allow-no-linger   install even though the user manager will not survive logout
  --dry-run           print the planned commands and files, change nothing`;

const ACTIONS = ['install', 'uninstall', 'run', 'stop', 'verify', 'linger'] as const;

async function main(argv: string[]) {
  const f = parseFlags(argv, {
    strings: [...SERVICE_FLAGS.strings, 'unit', 'restart-sec', 'stop-timeout'],
    booleans: ['dry-run', 'allow-no-linger'],
    defaults: {
      ...SERVICE_FLAGS.defaults,
      unit: SERVICE_DEFAULTS.name,
      'restart-sec': '10',
      'stop-timeout': '90',
    },
  });
  const action = f._[0] as (typeof ACTIONS)[number];
  if (!ACTIONS.includes(action))
    throw usageError(`give one action: ${ACTIONS.join(', ')}`, 'run with --help');
  const repo = f.repo ?? REPO_ROOT;
  const paths = dataPaths(resolveDataRoot(f['data-dir']));
  const service = serviceFromFlags(f, {
    name: f.unit,
    repo,
    main: join(repo, 'cli', 'main.ts'),
    dataDir: paths.root,
  });
  const user = await currentUserName();
  const unitFile = join(homedir(), '.config', 'systemd', 'user', `${service.name}.service`);
  const envFile = join(paths.root, 'ops', `${service.name}.env`);
  const sh = new HostScript(Boolean(f['dry-run']));
  // `systemctl --user` over ssh needs the user's runtime dir, which a non-login shell lacks.
  const env: Record<string, string> = process.env.XDG_RUNTIME_DIR
    ? {}
    : { XDG_RUNTIME_DIR: `/run/user/${process.getuid?.() ?? 0}` };
  const systemctl = (args: string[], why: string, timeoutS = 30) =>
    sh.run(['systemctl', '--user', ...args], why, { timeoutS, env });
  /** A systemctl step that must work: a failure becomes check `id` (fail). False when it failed. */
  const systemctlMust = async (id: string, args: string[], why: string, timeoutS = 30) => {
    const out = await systemctl(args, why, timeoutS);
    const failed = out ? systemctlFailure(out, args, service.name, timeoutS) : null;
    if (failed) sh.check(id, failed.status, failed.output, failed.hint);
    return !failed;
  };
  const atl = (args: string[], why: string) =>
    sh.run([service.bun, service.main, ...args, '--data-dir', paths.root], why, { timeoutS: 60 });

  const checkLinger = async () => {
    const out = await sh.run(
      ['loginctl', 'show-user', user, '--property=Linger', '--value'],
      'the user manager must outlive logout and start at boot',
      { timeoutS: 10 },
    );
    if (!out) return 'pass';
    const j = judgeLinger(out, user, process.getuid?.() === 0);
    return sh.check('linger', j.status, j.output, j.hint ?? undefined);
  };

  const serviceActive = async () => {
    const out = await systemctl(['is-active', service.name], 'is the engine service running');
    if (!out) return;
    const state = out.stdout.trim();
    if (state === 'active') sh.check('service:active', 'pass', `${service.name} is active`);
    else
      sh.check(
        'service:active',
        'fail',
        `${service.name} is ${state || 'unknown'}`,
        `read \`journalctl --user -u ${service.name} -n 50\` and ${paths.engineLog}`,
        { state },
      );
  };

  if (action === 'linger') {
    await checkLinger();
  } else if (action === 'install') {
    const linger = await checkLinger();
    if (linger !== 'pass' && !f['allow-no-linger']) return sh.result('linux', action, { unit: unitFile });
    sh.mkdir(paths.logsDir, 'the unit appends engine output to logs/engine.log');
    sh.write(envFile, renderEnvFile(service), 'turnover overrides, read at every start');
    sh.write(
      unitFile,
      renderUnit(service, {
        restartSec: numberArg('restart-sec', f['restart-sec'], { min: 1 }),
        stopTimeoutS: numberArg('stop-timeout', f['stop-timeout'], { min: 5 }),
        envFile,
        engineLog: paths.engineLog,
        runbook: join(repo, 'docs', 'RUNBOOK.md'),
      }),
      'the systemd user unit',
    );
    // System mode: it needs no running user manager, and the syntax is the same.
    const verified = await sh.run(
      ['systemd-analyze', 'verify', unitFile],
      'lint the unit before systemd loads it',
      { timeoutS: 30 },
    );
    const complaint = verified ? unitComplaint(verified) : null;
    if (complaint) {
      sh.check(
        'unit:verify',
        'fail',
        `systemd-analyze rejects ${unitFile}: ${complaint}`,
        'fix the flag it names and re-run install',
      );
      return sh.result('linux', action, { unit: unitFile });
    }
    if (!(await systemctlMust('systemd:reload', ['daemon-reload'], 'load the new unit')))
      return sh.result('linux', action, { unit: unitFile, env_file: envFile });
    await systemctlMust(
      'service:enabled',
      ['enable', service.name],
      'start at boot (with linger) and after login',
    );
    // restart, not start: a changed unit or env file takes effect now.
    await systemctlMust(
      'service:started',
      ['restart', service.name],
      'start the engine with this configuration',
      120,
    );
    await serviceActive();
  } else if (action === 'uninstall') {
    const installed = sh.dryRun || existsSync(unitFile);
    const out = await systemctl(
      ['disable', '--now', service.name],
      'stop the engine (SIGTERM: it finishes the tick) and drop it from boot',
      120,
    );
    const failed = out ? systemctlFailure(out, ['disable', '--now', service.name], service.name, 120) : null;
    if (failed && !installed && /does not exist|not loaded|not found/i.test(out?.stderr ?? '')) {
      // Nothing to stop or disable: uninstalling twice is not a failure.
      sh.check('service:disabled', 'pass', `${service.name} is not installed (no ${unitFile})`);
    } else if (failed) {
      // The engine may still run and start at boot: keep the unit and env file so a re-run can finish.
      sh.check('service:disabled', failed.status, `${failed.output}; unit and env file kept`, failed.hint);
      return sh.result('linux', action, { unit: unitFile, env_file: envFile });
    }
    sh.remove(unitFile, 'the unit file');
    sh.remove(envFile, 'its environment file (the data root itself is kept)');
    const reloaded = await systemctl(['daemon-reload'], 'forget the unit');
    const stale = reloaded ? systemctlFailure(reloaded, ['daemon-reload'], service.name, 30) : null;
    // Stopped, disabled and removed; only the manager's loaded copy lingers until its next reload.
    if (stale) sh.check('systemd:reload', 'warn', stale.output, stale.hint);
  } else if (action === 'run') {
    if (!sh.dryRun && !existsSync(unitFile))
      throw usageError(`no unit at ${unitFile}`, 'install it first: npx bun ops/linux.ts install');
    await systemctlMust('service:started', ['start', service.name], 'start the engine', 120);
    await serviceActive();
    await atl(['status', '--json'], 'show what the engine reports');
  } else if (action === 'stop') {
    await systemctlMust(
      'service:stopped',
      ['stop', service.name],
      `SIGTERM: finish the tick and exit 0 (SIGKILL after ${f['stop-timeout']} s)`,
      150,
    );
    const status = await atl(['status', '--json'], 'confirm the heartbeat says stopped');
    if (status) {
      const hb = parseJson<{ heartbeat?: { status?: string } }>(status.stdout)?.heartbeat;
      if (hb?.status === 'stopped' || hb?.status === 'halted')
        sh.check('engine:stopped', 'pass', `heartbeat status ${hb.status}`);
      else
        sh.check(
          'engine:stopped',
          'fail',
          `heartbeat status ${hb?.status ?? 'missing'} after stop`,
          `check \`systemctl --user status ${service.name}\`; as a last resort \`npx atl emergency-stop --reason …\``,
        );
    }
  } else {
    await checkLinger();
    if (!sh.dryRun) {
      const unit = existsSync(unitFile) ? readFileSync(unitFile, 'utf8') : '';
      const missing = [
        'Restart=always',
        `RestartPreventExitStatus=${NO_RESTART_EXITS.join(' ')}`,
        'EnvironmentFile=',
        'PAPER_LIVE_TURNOVER_MIN_RATIO',
        'KillMode=mixed',
      ].filter((s) => !unit.includes(s));
      if (missing.length === 0)
        sh.check(
          'unit:settings',
          'pass',
          `${unitFile} has Restart=always (not on ${NO_RESTART_EXITS.join('/')}), the turnover env and KillMode=mixed`,
        );
      else
        sh.check(
          'unit:settings',
          'fail',
          unit ? `${unitFile} lacks ${missing.join(', ')}` : `no unit at ${unitFile}`,
          're-run `npx bun ops/linux.ts install`',
        );
    }
    await serviceActive();
    const verify = await atl(
      ['verify', '--json', '--unit', `${service.name}.service`],
      'the host gates, as evidence',
    );
    if (verify) {
      const evidence = nestAtlVerify(sh, verify);
      return sh.result('linux', action, { unit: unitFile, env_file: envFile, verify: evidence });
    }
  }
  return sh.result('linux', action, { unit: unitFile, env_file: envFile });
}

await runScript('ops/linux.ts', USAGE, main);
