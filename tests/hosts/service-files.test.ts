import { describe, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { EngineService } from '../../ops/engine-service.ts';
import {
  judgeLinger,
  renderEnvFile,
  renderUnit,
  systemdWord,
  unitComplaint,
} from '../../ops/systemd-unit.ts';
import { auditTaskXml, cmdWord, renderLauncher, renderTaskXml, utf16le } from '../../ops/windows-task.ts';
import { REPO, tempDir } from '../support/cli.ts';

function service(dataDir: string, over: Partial<EngineService> = {}): EngineService {
  return {
    name: 'atl-paper',
    bun: process.execPath,
    main: join(REPO, 'cli', 'main.ts'),
    repo: REPO,
    dataDir,
    mode: 'paper_live_data',
    intervalS: 60,
    capital: 10000,
    symbols: null,
    minRatio: 2,
    maxDaily: 10,
    ...over,
  };
}

const unitSettings = (root: string) => ({
  restartSec: 10,
  stopTimeoutS: 90,
  envFile: join(root, 'ops', 'atl-paper.env'),
  engineLog: join(root, 'logs', 'engine.log'),
  runbook: join(REPO, 'docs', 'RUNBOOK.md'),
});

const analyzer = Bun.which('systemd-analyze');
if (!analyzer) console.warn('skipping systemd-analyze checks: systemd-analyze is not installed');

function analyze(file: string) {
  const r = Bun.spawnSync([analyzer!, 'verify', file], { stderr: 'pipe', stdout: 'pipe' });
  return { exitCode: r.exitCode, stderr: r.stderr.toString() };
}

describe('the systemd user unit ops/linux.ts installs', () => {
  it('carries Restart=always, RestartSec, the turnover env, EnvironmentFile, KillMode, TimeoutStopSec and the engine log', () => {
    const unit = renderUnit(service('/srv/atl', { minRatio: 2.5, maxDaily: 6 }), unitSettings('/srv/atl'));
    for (const line of [
      'Restart=always',
      'RestartSec=10',
      'Environment=PAPER_LIVE_TURNOVER_MIN_RATIO=2.5',
      'Environment=PAPER_LIVE_TURNOVER_MAX_DAILY=6',
      'EnvironmentFile=-/srv/atl/ops/atl-paper.env',
      'KillMode=mixed',
      'TimeoutStopSec=90',
      'StandardError=append:/srv/atl/logs/engine.log',
      'WantedBy=default.target',
    ]) {
      expect(unit.split('\n')).toContain(line);
    }
    expect(unit).toMatch(
      /^ExecStart=\S+ \S+main\.ts run --mode paper_live_data --interval 60 --capital 10000 --data-dir \/srv\/atl$/m,
    );
  });

  it.skipIf(!analyzer)(
    'passes systemd-analyze verify without a complaint, even for a data root with a space and a %',
    () => {
      using dir = tempDir();
      const root = join(dir.path, 'data 100%');
      const file = join(dir.path, 'atl-paper.service');
      writeFileSync(file, renderUnit(service(root), unitSettings(root)));
      const result = analyze(file);
      expect(unitComplaint(result)).toBeNull();
      expect(result.exitCode).toBe(0);
    },
  );

  it.skipIf(!analyzer)(
    'reads systemd-analyze complaints that exit 0, so a broken unit is never installed',
    () => {
      using dir = tempDir();
      const file = join(dir.path, 'broken.service');
      writeFileSync(
        file,
        renderUnit(service(dir.path), unitSettings(dir.path)).replace('KillMode=mixed', 'KillMode=gently'),
      );
      const result = analyze(file);
      expect(unitComplaint(result)).toContain('kill mode');
    },
  );

  it('never restarts an exit a restart cannot cure (2, 64, 78) and gives up on a crash loop', () => {
    const unit = renderUnit(service('/srv/atl'), unitSettings('/srv/atl'));
    const section = (name: string) => unit.split(`[${name}]\n`)[1]!.split('\n[')[0]!.split('\n');
    expect(section('Service')).toContain('RestartPreventExitStatus=2 64 78');
    // StartLimit* belong to [Unit]; systemd ignores them in [Service] (with a warning only).
    expect(section('Unit')).toContain('StartLimitBurst=10');
    expect(section('Unit')).toContain('StartLimitIntervalSec=600');
    expect(unit).not.toContain('StartLimitIntervalSec=0');
  });

  it('does not order a user unit after network-online.target, which only the system manager has', () => {
    const unit = renderUnit(service('/srv/atl'), unitSettings('/srv/atl'));
    expect(unit).not.toMatch(/^(After|Wants)=.*network-online/m);
  });

  it('quotes and escapes unit words: spaces quoted, % and $ doubled', () => {
    expect(systemdWord('/opt/atl')).toBe('/opt/atl');
    expect(systemdWord('/data dir/x')).toBe('"/data dir/x"');
    expect(systemdWord('100%$HOME')).toBe('100%%$$HOME');
  });

  it('writes the turnover overrides to the EnvironmentFile, ratio as a ratio', () => {
    const env = renderEnvFile(service('/srv/atl', { minRatio: 3, maxDaily: 4 }));
    expect(env).toContain('\nPAPER_LIVE_TURNOVER_MIN_RATIO=3.0\n');
    expect(env).toContain('\nPAPER_LIVE_TURNOVER_MAX_DAILY=4\n');
  });
});

describe('the linger check', () => {
  it('passes when linger is on', () => {
    expect(judgeLinger({ exitCode: 0, stdout: 'yes\n', stderr: '' }, 'trader', false).status).toBe('pass');
  });

  it('fails with the exact fix command when linger is off, or the user is unknown to logind', () => {
    const off = judgeLinger({ exitCode: 0, stdout: 'no\n', stderr: '' }, 'trader', false);
    expect(off).toMatchObject({ status: 'fail', hint: 'run `sudo loginctl enable-linger trader`' });
    const unknown = judgeLinger(
      { exitCode: 1, stdout: '', stderr: 'Failed to get user: User ID 1000 is not logged in or lingering' },
      'trader',
      true,
    );
    expect(unknown).toMatchObject({ status: 'fail', hint: 'run `loginctl enable-linger trader`' });
  });

  it('is unknown, not pass, when logind cannot be asked', () => {
    const j = judgeLinger(
      { exitCode: 1, stdout: '', stderr: 'Failed to connect to bus: Host is down' },
      'trader',
      true,
    );
    expect(j.status).toBe('unknown');
    expect(j.hint).toContain('loginctl enable-linger trader');
  });
});

describe('the Task Scheduler task ops/windows.ts installs', () => {
  const winService = service('C:\\atl-data', {
    bun: 'C:\\Users\\trader\\.bun\\bin\\bun.exe',
    main: 'C:\\atl\\cli\\main.ts',
    repo: 'C:\\atl',
  });
  const settings = {
    launcher: 'C:\\atl-data\\ops\\atl-paper.cmd',
    engineLog: 'C:\\atl-data\\logs\\engine.log',
    runAs: 'trader',
    restartIntervalMin: 1,
    restartCount: 999,
  };

  it('is well-formed XML with an at-startup trigger, restart on failure, no time limit and no parallel instances', () => {
    const xml = renderTaskXml(winService, settings);
    expect(XMLValidator.validate(xml)).toBe(true);
    const task = new XMLParser({ parseTagValue: false }).parse(xml).Task;
    expect(task.Triggers.BootTrigger.Enabled).toBe('true');
    expect(task.Settings.ExecutionTimeLimit).toBe('PT0S');
    expect(task.Settings.MultipleInstancesPolicy).toBe('IgnoreNew');
    expect(task.Settings.RestartOnFailure).toEqual({ Interval: 'PT1M', Count: '999' });
    expect(task.Settings.DisallowStartIfOnBatteries).toBe('false');
    expect(task.Settings.StopIfGoingOnBatteries).toBe('false');
    expect(task.Principals.Principal.LogonType).toBe('S4U');
    expect(task.Actions.Exec.Arguments).toBe('/d /c C:\\atl-data\\ops\\atl-paper.cmd');
    expect(auditTaskXml(xml, 'atl-paper').every((a) => a.status === 'pass')).toBe(true);
  });

  it('runs as SYSTEM by its well-known SID when asked', () => {
    const task = new XMLParser({ parseTagValue: false }).parse(
      renderTaskXml(winService, { ...settings, runAs: 'SYSTEM' }),
    ).Task;
    expect(task.Principals.Principal.UserId).toBe('S-1-5-18');
  });

  it('is written as UTF-16LE with a byte-order mark, as schtasks /XML expects', () => {
    const bytes = utf16le('<?xml version="1.0" encoding="UTF-16"?><Task/>');
    expect([...bytes.slice(0, 4)]).toEqual([0xff, 0xfe, 0x3c, 0x00]);
  });

  it('fails the audit of a task that would be killed at 72 h, run twice or stop on battery', () => {
    const bad = renderTaskXml(winService, settings)
      .replace(
        '<ExecutionTimeLimit>PT0S</ExecutionTimeLimit>',
        '<ExecutionTimeLimit>PT72H</ExecutionTimeLimit>',
      )
      .replace('IgnoreNew', 'Parallel')
      .replace('<StopIfGoingOnBatteries>false', '<StopIfGoingOnBatteries>true');
    const failing = auditTaskXml(bad, 'atl-paper')
      .filter((a) => a.status === 'fail')
      .map((a) => a.id);
    expect(failing).toEqual(['task:time-limit', 'task:single-instance', 'task:batteries']);
    expect(auditTaskXml('<Task><Settings>', 'atl-paper')[0]).toMatchObject({
      id: 'task:xml',
      status: 'fail',
    });
  });

  it('launches through a .cmd that sets the turnover env, appends to engine.log and restarts only after a crash', () => {
    const cmd = renderLauncher(winService, settings);
    const lines = cmd.split('\r\n');
    expect(lines).toContain('set "PAPER_LIVE_TURNOVER_MIN_RATIO=2.0"');
    expect(lines).toContain('set "PAPER_LIVE_TURNOVER_MAX_DAILY=10"');
    expect(cmd).toContain('>> C:\\atl-data\\logs\\engine.log 2>&1');
    expect(lines).toContain('if "%RC%"=="0" exit /b 0');
    expect(lines).toContain('goto run');
  });

  it('ends on 2, 64 and 78 (saying why in engine.log) instead of restarting them', () => {
    const lines = renderLauncher(winService, settings).split('\r\n');
    const loop = lines.indexOf('goto run');
    for (const code of [2, 64, 78]) {
      const at = lines.findIndex((l) => l.startsWith(`if "%RC%"=="${code}" (`));
      expect(at).toBeGreaterThan(lines.indexOf(':run'));
      expect(at).toBeLessThan(loop);
      expect(lines[at]).toContain(`engine exited ${code}; not restarting`);
      expect(lines[at]).toContain('>> C:\\atl-data\\logs\\engine.log');
      expect(lines[at]).toEndWith(`& exit /b ${code})`);
    }
  });

  it('backs off after a quick crash (10 s doubling to 5 min) and gives up after ten in a row', () => {
    const lines = renderLauncher(winService, settings).split('\r\n');
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    expect(lines).toContain('set DELAY=10');
    expect(at('set /a DELAY=DELAY*2')).toBeGreaterThan(at('ping -n %PINGS% 127.0.0.1'));
    expect(lines).toContain('if %DELAY% GTR 300 set DELAY=300');
    // A run of ten minutes or more resets the count: months of uptime never add up to giving up.
    expect(lines).toContain('if %RAN% GEQ 600 (set DELAY=10& set QUICK=0)');
    expect(lines[at('if %QUICK% GEQ 10 (')]).toEndWith('& exit /b %RC%)');
    expect(at('set /a RAN=ENDED-STARTED')).toBeLessThan(at('if %RAN% GEQ 600'));
    // Both timestamps fall back to 0, so a failing PowerShell counts as a quick crash, never a long run.
    expect(lines.filter((l) => /^set (STARTED|ENDED)=0& for \/f /.test(l))).toHaveLength(2);
  });

  it('quotes batch words with spaces, doubles %, and refuses a double quote', () => {
    expect(cmdWord('C:\\Program Files\\atl')).toBe('"C:\\Program Files\\atl"');
    expect(cmdWord('50%')).toBe('50%%');
    expect(() => cmdWord('a"b')).toThrow('Windows batch file');
  });
});
