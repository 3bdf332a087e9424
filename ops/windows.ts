#!/usr/bin/env bun
/**
 * Windows host: the engine as a Task Scheduler task (schtasks only; PowerShell is just zx's shell).
 *   bun ops/windows.ts install|uninstall|run|stop|verify [flags] [--dry-run]
 * Windows has no SIGTERM: `stop` writes the stop-request file the engine polls every tick, and
 * only hard-terminates the task when the engine does not stop within --grace.
 * Prints one JSON object on stdout; exit codes per SPEC §6.
 */
import { posix, win32 } from 'node:path';
import { isAlive } from '../core/control/process.ts';
import { stopRequestContent } from '../core/control/stop-request.ts';
import { usageError } from '../core/errors.ts';
import { dataPaths, REPO_ROOT, resolveDataRoot } from '../core/paths.ts';
import { readStatus } from '../core/status.ts';
import { currentUserName, HostScript, nestAtlVerify, numberArg, parseFlags, runScript } from './_script.ts';
import { SERVICE_DEFAULTS, SERVICE_FLAGS, serviceFromFlags } from './engine-service.ts';
import { auditTaskXml, renderLauncher, renderTaskXml, utf16le } from './windows-task.ts';

const USAGE = `npx bun ops/windows.ts <install|uninstall|run|stop|verify> [flags]
  --data-dir DIR      engine data root (default: env ATL_HOME, else the repository data\\)
  --task NAME         Task Scheduler task name (default ${SERVICE_DEFAULTS.name})
  --mode M --interval S --capital N --symbols LIST   how the engine runs (install)
  --min-ratio X --max-daily N   turnover overrides (install; defaults 2.0 and 10)
  --run-as USER       account the task runs as at boot (default: you; SYSTEM allowed)
  --grace S           stop: seconds to wait for a clean stop before ending the task (default 90)
  --bun PATH --repo DIR   the bun.exe and atl checkout the task runs (default: this ones)
  --dry-run           print the planned commands and files, change nothing`;

const ACTIONS = ['install', 'uninstall', 'run', 'stop', 'verify'] as const;

/** A drive letter or UNC share means Windows paths, even when planning from another OS. */
const isWindowsPath = (p: string) => /^[A-Za-z]:[\\/]|^\\\\/.test(p);
const dataRootOf = (flag: string | undefined) => (flag && isWindowsPath(flag) ? flag : resolveDataRoot(flag));

/**
 * A plan is in Windows paths or in this host's, never a mix: from Linux, a Windows --data-dir
 * needs --repo and --bun as Windows paths too (this checkout's paths mean nothing there).
 */
function onePathStyle(given: Record<string, string>) {
  const style = Object.values(given).some(isWindowsPath) ? win32 : posix;
  if (style === posix || process.platform === 'win32') return style;
  const mixed = Object.entries(given).filter(([, p]) => !isWindowsPath(p));
  if (mixed.length > 0)
    throw usageError(
      `planning a Windows task on ${process.platform}: ${mixed.map(([flag, p]) => `${flag} ${p}`).join(', ')} ${mixed.length > 1 ? 'are not Windows paths' : 'is not a Windows path'}`,
      'give --data-dir, --repo and --bun as Windows paths, e.g. --data-dir C:\\atl-data --repo C:\\atl --bun C:\\atl\\node_modules\\bun\\bin\\bun.exe',
    );
  return style;
}

async function main(argv: string[]) {
  const f = parseFlags(argv, {
    strings: [...SERVICE_FLAGS.strings, 'task', 'run-as', 'grace'],
    booleans: ['dry-run'],
    defaults: { ...SERVICE_FLAGS.defaults, task: SERVICE_DEFAULTS.name, grace: '90' },
  });
  const action = f._[0] as (typeof ACTIONS)[number];
  if (!ACTIONS.includes(action))
    throw usageError(`give one action: ${ACTIONS.join(', ')}`, 'run with --help');
  const root = dataRootOf(f['data-dir']);
  const repo = f.repo ?? REPO_ROOT;
  const path = onePathStyle({ '--data-dir': root, '--repo': repo, '--bun': f.bun ?? process.execPath });
  const paths = dataPaths(root);
  const service = serviceFromFlags(f, {
    name: f.task,
    repo,
    main: path.join(repo, 'cli', 'main.ts'),
    dataDir: root,
  });
  const graceS = numberArg('grace', f.grace, { min: 1 });
  const opsDir = path.join(root, 'ops');
  const launcher = path.join(opsDir, `${service.name}.cmd`);
  const xmlFile = path.join(opsDir, `${service.name}.xml`);
  const engineLog = path.join(root, 'logs', 'engine.log');
  const stopRequest = path.join(root, 'logs', 'stop.request');
  const sh = new HostScript(Boolean(f['dry-run']), 'powershell');
  const schtasks = (args: string[], why: string, timeoutS = 30) =>
    sh.run(['schtasks', ...args], why, { timeoutS });
  const atl = (args: string[], why: string) =>
    sh.run([service.bun, service.main, ...args, '--data-dir', root], why, { timeoutS: 60 });

  const stop = async () => {
    const user = await currentUserName();
    sh.write(
      stopRequest,
      stopRequestContent(user),
      'ask the engine to finish its tick and exit 0 (it polls this file)',
    );
    const stopped = () => {
      const v = readStatus(paths);
      const pid = v.engine.pidfile?.pid;
      return (
        v.heartbeat?.status === 'stopped' ||
        v.heartbeat?.status === 'halted' ||
        pid === undefined ||
        !isAlive(pid)
      );
    };
    const clean = await sh.waitFor(
      'heartbeat status stopped, or the engine process gone',
      'a clean stop',
      graceS,
      stopped,
    );
    if (clean && !sh.dryRun) {
      sh.check('engine:stopped', 'pass', 'the engine stopped cleanly on the stop request');
      return;
    }
    // The fallback; a dry run lists it too.
    await schtasks(
      ['/End', '/TN', service.name],
      `if not stopped within ${graceS} s: hard-terminate the task`,
    );
    const pid = sh.dryRun ? undefined : readStatus(paths).engine.pidfile?.pid;
    if (sh.dryRun || (pid !== undefined && isAlive(pid))) {
      await sh.run(
        ['taskkill', '/PID', pid === undefined ? '<engine pid>' : String(pid), '/T', '/F'],
        'if the engine outlived its task',
        { timeoutS: 30 },
      );
    }
    sh.remove(stopRequest, 'the unanswered request must not stop the next start');
    if (sh.dryRun) return;
    const gone = pid === undefined || !isAlive(pid);
    sh.check(
      'engine:stopped',
      gone ? 'warn' : 'fail',
      gone
        ? `the engine ignored the stop request for ${graceS} s and was terminated; its last tick may be cut (files stay consistent)`
        : `engine pid ${pid} is still alive`,
      gone
        ? `read ${engineLog} for why it did not stop`
        : `stop it by hand (\`taskkill /PID ${pid} /F\`), then \`npx atl status\``,
    );
  };

  if (action === 'install') {
    const settings = {
      launcher,
      engineLog,
      runAs: f['run-as'] ?? (await defaultRunAs()),
      restartIntervalMin: 1,
      restartCount: 999,
    };
    const xml = renderTaskXml(service, settings);
    for (const a of auditTaskXml(xml, service.name)) sh.check(a.id, a.status, a.output, a.hint ?? undefined);
    sh.mkdir(path.join(root, 'logs'), 'the launcher appends engine output to logs\\engine.log');
    sh.mkdir(opsDir, 'launcher and task XML live beside the data');
    sh.write(
      launcher,
      renderLauncher(service, settings),
      'sets the turnover env, runs the engine, restarts it after a crash',
    );
    sh.write(xmlFile, utf16le(xml), 'the task definition (UTF-16, as schtasks expects)', xml);
    const created = await schtasks(
      ['/Create', '/TN', service.name, '/XML', xmlFile, '/F'],
      'register (or replace) the task; needs an elevated shell',
    );
    if (created && created.exitCode !== 0) {
      sh.check(
        'task:registered',
        'fail',
        `schtasks /Create failed: ${created.stderr.trim() || created.stdout.trim()}`,
        'run from an elevated shell (Run as administrator): a boot trigger needs it',
      );
    }
  } else if (action === 'uninstall') {
    await stop();
    await schtasks(['/Delete', '/TN', service.name, '/F'], 'remove the task');
    sh.remove(launcher, 'the launcher');
    sh.remove(xmlFile, 'the task XML (the data root itself is kept)');
  } else if (action === 'run') {
    const before = Date.now();
    const started = await schtasks(
      ['/Run', '/TN', service.name],
      'start the engine now (boot starts it by itself)',
    );
    if (started && started.exitCode !== 0)
      sh.check(
        'task:started',
        'fail',
        `schtasks /Run failed: ${started.stderr.trim()}`,
        'install the task first: npx bun ops/windows.ts install',
      );
    const running = () => {
      const v = readStatus(paths);
      return Boolean(v.heartbeat && Date.parse(v.heartbeat.ts) >= before && isAlive(v.heartbeat.pid));
    };
    if (
      !(started && started.exitCode !== 0) &&
      !(await sh.waitFor('a heartbeat written by a live engine', 'the engine came up', 60, running))
    ) {
      sh.check(
        'engine:running',
        'fail',
        'no fresh heartbeat 60 s after the task started',
        `read ${engineLog}`,
      );
    }
  } else if (action === 'stop') {
    await stop();
  } else {
    const query = await schtasks(['/Query', '/TN', service.name, '/XML'], 'read the task back');
    if (query && query.exitCode !== 0)
      sh.check(
        'task:registered',
        'fail',
        `no task ${service.name}: ${query.stderr.trim()}`,
        'npx bun ops/windows.ts install',
      );
    else if (query)
      for (const a of auditTaskXml(query.stdout, service.name))
        sh.check(a.id, a.status, a.output, a.hint ?? undefined);
    const verify = await atl(['verify', '--json'], 'the host gates, as evidence');
    if (verify)
      return sh.result('windows', action, { task: service.name, verify: nestAtlVerify(sh, verify) });
  }
  return sh.result('windows', action, { task: service.name, launcher, xml: xmlFile });
}

async function defaultRunAs(): Promise<string> {
  const user = await currentUserName();
  return process.env.USERDOMAIN ? `${process.env.USERDOMAIN}\\${user}` : user;
}

await runScript('ops/windows.ts', USAGE, main);
