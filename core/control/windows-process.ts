/**
 * Process facts on Windows, which has no /proc: the start time, command line and boot time come
 * from WMI (Win32_Process, Win32_OperatingSystem), asked through Windows PowerShell, else wmic.
 * Parsing is kept apart from running so it is tested with the tools' own output formats.
 */

/** One process as WMI reports it; `start` is its creation time as ISO UTC to the microsecond. */
export type WindowsProcess = { pid: number; start: string | null; cmdline: string[] | null };

/** What one query saw: the boot time (the boot id) and the processes asked for. */
export type WindowsSnapshot = { bootId: string | null; processes: WindowsProcess[] };

/**
 * A CIM_DATETIME (DMTF) value, `yyyymmddHHMMSS.mmmmmmsUUU` with UUU the offset from UTC in
 * minutes, e.g. `20261204123456.123456+060`, as ISO UTC (`2026-12-04T11:34:56.123456Z`). The
 * offset is applied, so the same instant reads the same whichever time zone or tool reported it.
 */
export function parseCimDateTime(text: string): string | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\.(\d{6})([+-])(\d{3})$/.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, micro, sign, offset] = m;
  const localMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (!Number.isFinite(localMs)) return null;
  const utc = new Date(localMs - (sign === '-' ? -1 : 1) * Number(offset) * 60_000);
  return `${utc.toISOString().slice(0, 19)}.${micro}Z`;
}

/**
 * A Windows command line as the C runtime splits it into argv (CommandLineToArgvW): whitespace
 * separates words outside quotes; 2n backslashes before a quote are n backslashes and the quote
 * toggles quoting, 2n+1 are n and a literal quote; `""` inside quotes is a literal quote.
 */
export function splitCommandLine(line: string): string[] {
  const args: string[] = [];
  let word = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\') {
      let n = 0;
      while (line[i + n] === '\\') n++;
      if (line[i + n] === '"') {
        word += '\\'.repeat(Math.floor(n / 2));
        if (n % 2 === 1) word += '"';
        else quoted = !quoted;
        i += n;
      } else {
        word += '\\'.repeat(n);
        i += n - 1;
      }
      inWord = true;
    } else if (c === '"') {
      if (quoted && line[i + 1] === '"') {
        word += '"';
        i++;
      } else quoted = !quoted;
      inWord = true;
    } else if ((c === ' ' || c === '\t') && !quoted) {
      if (inWord) args.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) args.push(word);
  return args;
}

/**
 * The PowerShell query: a `boot` line, then one `pid<TAB>creation<TAB>command line` line per
 * process, times as UTC DMTF so neither the locale nor the time zone changes the text.
 * `pid` null lists every process.
 */
export function powershellQuery(pid: number | null): string {
  const filter = pid === null ? '' : ` -Filter 'ProcessId=${Math.trunc(pid)}'`;
  return [
    "$ErrorActionPreference = 'Stop'",
    '[Console]::OutputEncoding = [Text.Encoding]::UTF8',
    "function dmtf($d) { if ($d) { $d.ToUniversalTime().ToString('yyyyMMddHHmmss.ffffff') + '+000' } }",
    '"boot`t" + (dmtf (Get-CimInstance Win32_OperatingSystem).LastBootUpTime)',
    `Get-CimInstance Win32_Process${filter} | ForEach-Object { "$($_.ProcessId)\`t$(dmtf $_.CreationDate)\`t$($_.CommandLine)" }`,
  ].join('\n');
}

/** argv for `powershell.exe` running the query (-EncodedCommand: no quoting to get wrong). */
export function powershellArgv(pid: number | null): string[] {
  const encoded = Buffer.from(powershellQuery(pid), 'utf16le').toString('base64');
  return ['powershell.exe', '-NoProfile', '-NonInteractive', '-EncodedCommand', encoded];
}

/** Parse the PowerShell query's output; null when it is not that output at all. */
export function parsePowershellOutput(stdout: string): WindowsSnapshot | null {
  const lines = stdout.replace(/^\uFEFF/, '').split(/\r?\n/);
  const boot = lines.find((l) => l.startsWith('boot\t'));
  if (boot === undefined) return null;
  const processes: WindowsProcess[] = [];
  for (const line of lines) {
    const m = /^(\d+)\t([^\t]*)\t(.*)$/.exec(line.replace(/\r$/, ''));
    if (!m) continue;
    processes.push({
      pid: Number(m[1]),
      start: parseCimDateTime(m[2]!),
      cmdline: m[3] ? splitCommandLine(m[3]) : null,
    });
  }
  return { bootId: parseCimDateTime(boot.slice(5)), processes };
}

/** wmic's `/format:list` records (`Key=value` lines, blank-line separated), by key. */
function listRecords(stdout: string): Record<string, string>[] {
  const records: Record<string, string>[] = [];
  let current: Record<string, string> = {};
  for (const raw of stdout.split(/\r*\n/)) {
    const line = raw.trim();
    const eq = line.indexOf('=');
    if (eq > 0) current[line.slice(0, eq)] = line.slice(eq + 1);
    else if (line === '' && Object.keys(current).length > 0) {
      records.push(current);
      current = {};
    }
  }
  if (Object.keys(current).length > 0) records.push(current);
  return records;
}

/** The fallback where PowerShell is missing: wmic (deprecated, absent from newer Windows 11). */
export function wmicArgv(pid: number | null): { os: string[]; processes: string[] } {
  return {
    os: ['wmic', 'os', 'get', 'LastBootUpTime', '/format:list'],
    processes: [
      'wmic',
      'process',
      ...(pid === null ? [] : ['where', `ProcessId=${Math.trunc(pid)}`]),
      'get',
      'CommandLine,CreationDate,ProcessId',
      '/format:list',
    ],
  };
}

/** Parse the two wmic outputs; "No Instance(s) Available." (on stderr) leaves no records. */
export function parseWmicOutput(osOut: string, processOut: string): WindowsSnapshot | null {
  const os = listRecords(osOut).find((r) => 'LastBootUpTime' in r);
  if (!os) return null;
  const processes = listRecords(processOut)
    .filter((r) => /^\d+$/.test(r.ProcessId ?? ''))
    .map((r) => ({
      pid: Number(r.ProcessId),
      start: parseCimDateTime(r.CreationDate ?? ''),
      cmdline: r.CommandLine ? splitCommandLine(r.CommandLine) : null,
    }));
  return { bootId: parseCimDateTime(os.LastBootUpTime!), processes };
}

/** wmic writes UTF-16LE when its output is not a console; PowerShell as told (UTF-8). */
export function decodeToolOutput(bytes: Uint8Array): string {
  const odd = bytes.filter((b, i) => i % 2 === 1 && b === 0).length;
  const utf16 = bytes.length >= 2 && (bytes[0] === 0xff && bytes[1] === 0xfe ? true : odd > bytes.length / 4);
  return Buffer.from(bytes)
    .toString(utf16 ? 'utf16le' : 'utf8')
    .replace(/^\uFEFF/, '');
}

export type RunTool = (argv: string[]) => { exitCode: number | null; stdout: Uint8Array } | null;

/** Run a tool for at most 15 s; null when it cannot be started at all. */
const spawnTool: RunTool = (argv) => {
  try {
    const r = Bun.spawnSync(argv, { stdout: 'pipe', stderr: 'ignore', stdin: 'ignore', timeout: 15_000 });
    return { exitCode: r.exitCode, stdout: r.stdout };
  } catch {
    return null;
  }
};

/** Ask WMI about one process (or all): PowerShell first, wmic when PowerShell gives nothing usable. */
export function queryWindows(pid: number | null, run: RunTool = spawnTool): WindowsSnapshot | null {
  const ps = run(powershellArgv(pid));
  const viaPs = ps && ps.exitCode === 0 ? parsePowershellOutput(decodeToolOutput(ps.stdout)) : null;
  if (viaPs) return viaPs;
  const argv = wmicArgv(pid);
  const os = run(argv.os);
  if (os?.exitCode !== 0) return null;
  const procs = run(argv.processes);
  return parseWmicOutput(decodeToolOutput(os.stdout), procs ? decodeToolOutput(procs.stdout) : '');
}
