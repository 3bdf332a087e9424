import { describe, expect, it } from 'bun:test';
import { looksLikeEngine } from '../../core/control/process.ts';
import {
  decodeToolOutput,
  parseCimDateTime,
  parsePowershellOutput,
  parseWmicOutput,
  powershellArgv,
  powershellQuery,
  queryWindows,
  type RunTool,
  splitCommandLine,
  wmicArgv,
} from '../../core/control/windows-process.ts';

// Output in the shapes the tools print (wmic's /format:list pads with \r\r\n; PowerShell prints
// what powershellQuery asks for). Not captured on a Windows host: this project has none in CI.
const ENGINE_LINE =
  '"C:\\Users\\trader\\atl\\node_modules\\bun\\bin\\bun.exe" C:\\Users\\trader\\atl\\cli\\main.ts run --mode paper_live_data --interval 60 --capital 10000 --data-dir "C:\\atl data"';
const POWERSHELL_OUT = [
  'boot\t20261201074512.500000+000',
  `4321\t20261204113456.123456+000\t${ENGINE_LINE}`,
  '4\t\t',
  '',
].join('\r\n');
const WMIC_OS = '\r\r\n\r\r\nLastBootUpTime=20261201084512.500000+060\r\r\n\r\r\n\r\r\n';
const WMIC_PROCESS = [
  '',
  '',
  `CommandLine=${ENGINE_LINE}`,
  'CreationDate=20261204123456.123456+060',
  'ProcessId=4321',
  '',
  '',
  'CommandLine=',
  'CreationDate=20261204063000.000000-300',
  'ProcessId=88',
  '',
  '',
].join('\r\r\n');

describe('CIM datetimes (DMTF: yyyymmddHHMMSS.mmmmmm±UUU, offset in minutes)', () => {
  it('reads local time with its offset as one UTC instant, to the microsecond', () => {
    expect(parseCimDateTime('20261204123456.123456+060')).toBe('2026-12-04T11:34:56.123456Z');
    expect(parseCimDateTime('20261204113456.123456+000')).toBe('2026-12-04T11:34:56.123456Z');
    expect(parseCimDateTime('20261204063456.123456-300')).toBe('2026-12-04T11:34:56.123456Z');
    // Across midnight and a year boundary, as a +330 (India) or -600 (Hawaii) host reports it.
    expect(parseCimDateTime('20270101030000.000001+330')).toBe('2026-12-31T21:30:00.000001Z');
    expect(parseCimDateTime('20261231140000.000000-600')).toBe('2027-01-01T00:00:00.000000Z');
  });

  it('refuses anything else: empty, the wildcard form WMI uses for "unset", a locale date', () => {
    for (const bad of ['', '********000000.000000+000', '12/4/2026 12:34:56 PM', '20261204123456+060'])
      expect(parseCimDateTime(bad)).toBeNull();
  });
});

describe('Windows command lines split as the C runtime splits them', () => {
  it('quoted paths with spaces, and the engine is recognised by cli\\main.ts run', () => {
    const argv = splitCommandLine(ENGINE_LINE);
    expect(argv[0]).toBe('C:\\Users\\trader\\atl\\node_modules\\bun\\bin\\bun.exe');
    expect(argv.at(-1)).toBe('C:\\atl data');
    expect(argv.slice(1, 3)).toEqual(['C:\\Users\\trader\\atl\\cli\\main.ts', 'run']);
    expect(looksLikeEngine(argv)).toBe(true);
    expect(looksLikeEngine(splitCommandLine('bun.exe C:\\atl\\cli\\main.ts status'))).toBe(false);
  });

  it('backslashes before a quote halve, an odd one escapes it; "" in quotes is a quote', () => {
    expect(splitCommandLine('a\\\\"b c"')).toEqual(['a\\b c']);
    expect(splitCommandLine('a\\"b c')).toEqual(['a"b', 'c']);
    expect(splitCommandLine('"C:\\dir\\\\" next')).toEqual(['C:\\dir\\', 'next']);
    expect(splitCommandLine('"say ""hi"""')).toEqual(['say "hi"']);
    expect(splitCommandLine('  x\t""  y ')).toEqual(['x', '', 'y']);
  });
});

describe('the PowerShell query and its output', () => {
  it('asks WMI in UTC DMTF, one process by id or all, through -EncodedCommand', () => {
    expect(powershellQuery(4321)).toContain("Get-CimInstance Win32_Process -Filter 'ProcessId=4321'");
    expect(powershellQuery(null)).toContain('Get-CimInstance Win32_Process |');
    expect(powershellQuery(1)).toContain('(Get-CimInstance Win32_OperatingSystem).LastBootUpTime');
    expect(powershellQuery(1)).toContain("ToUniversalTime().ToString('yyyyMMddHHmmss.ffffff')");
    const argv = powershellArgv(4321);
    expect(argv.slice(0, 4)).toEqual(['powershell.exe', '-NoProfile', '-NonInteractive', '-EncodedCommand']);
    expect(Buffer.from(argv[4]!, 'base64').toString('utf16le')).toBe(powershellQuery(4321));
  });

  it('reads the boot id, start times and command lines; a process WMI cannot describe keeps nulls', () => {
    expect(parsePowershellOutput(POWERSHELL_OUT)).toEqual({
      bootId: '2026-12-01T07:45:12.500000Z',
      processes: [
        { pid: 4321, start: '2026-12-04T11:34:56.123456Z', cmdline: splitCommandLine(ENGINE_LINE) },
        { pid: 4, start: null, cmdline: null },
      ],
    });
  });

  it('a pid WMI does not know gives no process, not an error; other output is not an answer', () => {
    expect(parsePowershellOutput('boot\t20261201074512.500000+000\r\n')).toEqual({
      bootId: '2026-12-01T07:45:12.500000Z',
      processes: [],
    });
    expect(parsePowershellOutput('Get-CimInstance : Access denied\r\n')).toBeNull();
    expect(parsePowershellOutput('')).toBeNull();
  });
});

describe('the wmic fallback', () => {
  it('asks in /format:list and reads the same instants as PowerShell, whatever the offset', () => {
    expect(wmicArgv(4321).processes).toEqual([
      'wmic',
      'process',
      'where',
      'ProcessId=4321',
      'get',
      'CommandLine,CreationDate,ProcessId',
      '/format:list',
    ]);
    const viaWmic = parseWmicOutput(WMIC_OS, WMIC_PROCESS)!;
    const viaPs = parsePowershellOutput(POWERSHELL_OUT)!;
    expect(viaWmic.bootId).toBe(viaPs.bootId);
    expect(viaWmic.processes[0]).toEqual(viaPs.processes[0]!);
    expect(viaWmic.processes[1]).toEqual({ pid: 88, start: '2026-12-04T11:30:00.000000Z', cmdline: null });
  });

  it('"No Instance(s) Available." (stderr, empty stdout) is no process; no boot time is no answer', () => {
    expect(parseWmicOutput(WMIC_OS, '\r\r\n')?.processes).toEqual([]);
    expect(parseWmicOutput('', WMIC_PROCESS)).toBeNull();
  });

  it('decodes UTF-16LE (wmic into a pipe, with or without a BOM) and UTF-8 alike', () => {
    const utf16 = Buffer.from(WMIC_OS, 'utf16le');
    expect(decodeToolOutput(utf16)).toBe(WMIC_OS);
    expect(decodeToolOutput(Buffer.concat([Buffer.from([0xff, 0xfe]), utf16]))).toBe(WMIC_OS);
    expect(decodeToolOutput(Buffer.from(`${POWERSHELL_OUT}é`, 'utf8'))).toBe(`${POWERSHELL_OUT}é`);
  });
});

describe('queryWindows: PowerShell first, wmic when PowerShell gives nothing usable', () => {
  const tool =
    (answers: Record<string, { exitCode: number; stdout: string; utf16?: boolean } | null>): RunTool =>
    (argv) => {
      const a = answers[argv[0] === 'wmic' ? `wmic ${argv[1]}` : argv[0]!];
      if (!a) return null;
      return { exitCode: a.exitCode, stdout: Buffer.from(a.stdout, a.utf16 ? 'utf16le' : 'utf8') };
    };

  it('uses PowerShell when it answers', () => {
    const snap = queryWindows(4321, tool({ 'powershell.exe': { exitCode: 0, stdout: POWERSHELL_OUT } }));
    expect(snap?.processes[0]?.start).toBe('2026-12-04T11:34:56.123456Z');
  });

  it('falls back to wmic when PowerShell is missing or fails, and says null when neither answers', () => {
    const wmic = {
      'wmic os': { exitCode: 0, stdout: WMIC_OS, utf16: true },
      'wmic process': { exitCode: 0, stdout: WMIC_PROCESS, utf16: true },
    };
    expect(queryWindows(4321, tool({ 'powershell.exe': null, ...wmic }))?.bootId).toBe(
      '2026-12-01T07:45:12.500000Z',
    );
    expect(
      queryWindows(4321, tool({ 'powershell.exe': { exitCode: 1, stdout: '' }, ...wmic }))?.processes,
    ).toHaveLength(2);
    expect(queryWindows(4321, tool({ 'powershell.exe': null, 'wmic os': null }))).toBeNull();
  });
});
