import { describe, expect, it } from 'bun:test';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/cli.ts';
import { opsScript } from './run-ops.ts';

const LINUX = ['--data-dir', '/srv/atl', '--repo', '/opt/atl', '--bun', '/usr/local/bin/bun'];
const WINDOWS = [
  '--data-dir',
  'C:\\atl-data',
  '--repo',
  'C:\\atl',
  '--bun',
  'C:\\Users\\trader\\.bun\\bin\\bun.exe',
  '--run-as',
  'trader',
];

describe('ops/linux.ts --dry-run prints the plan as one JSON object', () => {
  for (const action of ['install', 'uninstall', 'run', 'stop', 'verify']) {
    it(`plans ${action}`, async () => {
      const r = await opsScript('linux.ts', [
        action,
        '--dry-run',
        ...LINUX,
        ...(action === 'install' ? ['--min-ratio', '2.5', '--max-daily', '8'] : []),
      ]);
      expect(r.code).toBe(0);
      expect(r.json()).toMatchSnapshot();
    });
  }
});

describe('ops/windows.ts --dry-run prints the plan as one JSON object', () => {
  for (const action of ['install', 'uninstall', 'run', 'stop', 'verify']) {
    it(`plans ${action}`, async () => {
      const r = await opsScript('windows.ts', [action, '--dry-run', ...WINDOWS]);
      expect(r.code).toBe(0);
      expect(r.json()).toMatchSnapshot();
    });
  }
});

describe('a Windows plan made on Linux is all Windows paths', () => {
  it("refuses a Windows --data-dir with this checkout's POSIX repo and bun (exit 64, naming them)", async () => {
    const r = await opsScript('windows.ts', [
      'install',
      '--dry-run',
      '--data-dir',
      'C:\\atl-data',
      '--run-as',
      'trader',
    ]);
    expect(r.code).toBe(64);
    expect(r.json().error).toMatch(
      /^planning a Windows task on linux: --repo \/\S+, --bun \/\S+ are not Windows paths$/,
    );
    const one = await opsScript('windows.ts', [
      ...WINDOWS.slice(0, 4),
      'install',
      '--dry-run',
      '--bun',
      '/usr/local/bin/bun',
    ]);
    expect(one.json().error).toContain('--bun /usr/local/bin/bun is not a Windows path');
  });

  for (const action of ['install', 'uninstall', 'run', 'stop', 'verify']) {
    it(`${action}: no step, file or command line holds a POSIX path`, async () => {
      const r = await opsScript('windows.ts', [action, '--dry-run', ...WINDOWS]);
      expect(r.code).toBe(0);
      const text = JSON.stringify(r.json().steps);
      expect(text).not.toMatch(/(^|[\s"'=])\/(work|home|usr|opt|srv|tmp)\//);
      expect(text).not.toContain('\\\\work\\\\');
    });
  }
});

describe('a dry run changes nothing', () => {
  it('leaves HOME and the data root untouched on install and uninstall', async () => {
    using dir = tempDir();
    const root = join(dir.path, 'data');
    const plans = [
      ['linux.ts', 'install', '--data-dir', root],
      ['linux.ts', 'uninstall', '--data-dir', root],
      ['windows.ts', 'install', '--data-dir', root, '--run-as', 'trader'],
      ['windows.ts', 'stop', '--data-dir', root],
    ];
    for (const [script, ...args] of plans) {
      const r = await opsScript(script!, [...args, '--dry-run'], { HOME: dir.path });
      expect(r.code).toBe(0);
      expect(r.json().dry_run).toBe(true);
    }
    // (bun may create its own ~/.bun cache; the scripts must not touch anything else)
    expect(readdirSync(dir.path).filter((n) => n !== '.bun')).toEqual([]);
  });
});

describe('ops scripts on bad input', () => {
  it('exit 64 with a JSON error for a misspelt flag, never running with a default', async () => {
    const r = await opsScript('linux.ts', ['install', '--dry-run', '--max-daly', '3']);
    expect(r.code).toBe(64);
    expect(r.json()).toMatchObject({ status: 'error', exit_code: 64 });
    expect(r.stderr).toContain('--max-daly');
  });

  it('exit 64 for a missing action or a bad number', async () => {
    expect((await opsScript('windows.ts', ['--dry-run'])).code).toBe(64);
    expect((await opsScript('linux.ts', ['install', '--dry-run', '--max-daily', '2.5'])).code).toBe(64);
    expect((await opsScript('linux.ts', ['install', '--dry-run', '--unit', '../evil'])).code).toBe(64);
  });
});

describe('install refuses what the engine would refuse at every start (a restart loop otherwise)', () => {
  for (const script of ['linux.ts', 'windows.ts']) {
    const where = script === 'linux.ts' ? LINUX : WINDOWS;
    it(`${script}: --min-ratio 0 and --max-daily 0 exit 64 with the engine's own reason, writing nothing`, async () => {
      for (const [flag, value, reason] of [
        ['--min-ratio', '0', 'PAPER_LIVE_TURNOVER_MIN_RATIO must be a number > 0 (got "0.0")'],
        ['--min-ratio=-1', null, 'PAPER_LIVE_TURNOVER_MIN_RATIO must be a number > 0 (got "-1.0")'],
        ['--max-daily', '0', 'PAPER_LIVE_TURNOVER_MAX_DAILY must be a whole number ≥ 1 (got "0")'],
        ['--max-daily', '2.5', 'PAPER_LIVE_TURNOVER_MAX_DAILY must be a whole number ≥ 1'],
      ] as const) {
        const r = await opsScript(script, [
          'install',
          '--dry-run',
          ...where,
          flag,
          ...(value ? [value] : []),
        ]);
        expect(r.code).toBe(64);
        const out = r.json();
        expect(out).toMatchObject({ status: 'error', exit_code: 64 });
        expect(out.error).toContain('the engine would refuse to start');
        expect(out.error).toContain(reason);
        expect(out.steps).toBeUndefined();
      }
    });

    it(`${script}: an unknown mode or a backtest (which ends, and would be replayed for ever) exit 64`, async () => {
      const bad = await opsScript(script, ['install', '--dry-run', ...where, '--mode', 'paper-live']);
      expect(bad.code).toBe(64);
      expect(bad.json().error).toContain('unknown mode "paper-live"');
      const backtest = await opsScript(script, ['install', '--dry-run', ...where, '--mode', 'backtest']);
      expect(backtest.code).toBe(64);
      expect(backtest.json().error).toContain('--mode backtest ends by itself');
    });
  }

  it('a valid ratio still installs: the same check passes 0.5', async () => {
    const r = await opsScript('linux.ts', ['install', '--dry-run', ...LINUX, '--min-ratio', '0.5']);
    expect(r.code).toBe(0);
    const env = r.json().steps.find((s: { write?: string }) => s.write?.endsWith('.env'));
    expect(env.content).toContain('PAPER_LIVE_TURNOVER_MIN_RATIO=0.5\n');
  });
});

describe('ops/fleet.ts --dry-run', () => {
  it('lists one atl ssh-check per host, with the host settings merged over the defaults', async () => {
    using dir = tempDir();
    writeFileSync(join(dir.path, 'id_fleet'), 'not a real key: only its path is planned');
    writeFileSync(
      join(dir.path, 'hosts.json'),
      JSON.stringify({
        schema_version: '1.0.0',
        defaults: {
          user: 'trader',
          identity: 'id_fleet',
          remote_atl: '/home/trader/.bun/bin/bun /home/trader/atl/cli/main.ts',
          data_dir: '/home/trader/atl-data',
        },
        hosts: [
          { name: 'spark', host: 'spark.tail1234.ts.net' },
          { name: 'win', host: '100.116.64.126', user: 'Trader', port: 2222, data_dir: 'C:\\atl-data' },
          { name: 'lab', host: 'lab', remote_verify: false },
        ],
      }),
    );
    const r = await opsScript('fleet.ts', [
      '--hosts',
      join(dir.path, 'hosts.json'),
      '--dry-run',
      '--data-dir',
      '/srv/atl',
      '--bun',
      '/usr/local/bin/bun',
      '--repo',
      '/opt/atl',
    ]);
    expect(r.code).toBe(0);
    expect(existsSync(join(dir.path, 'reports'))).toBe(false);
    expect(JSON.parse(r.stdout.replaceAll(dir.path, '<hosts dir>'))).toMatchSnapshot();
  });
});
