import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A command as a document shows it, with where it is shown. */
export type Shown = {
  text: string;
  where: string[];
  /** `sh`, `powershell` or `cron` for a fenced block's line, `inline` for a code span in prose or a table. */
  kind: 'sh' | 'powershell' | 'cron' | 'inline';
  /** For cron lines: the crontab's variable lines above it (`NAME=value`). */
  cronEnv?: Record<string, string>;
};

const FENCED = new Set(['sh', 'powershell', 'cron']);
/** Code spans that are commands (or fragments of one) rather than names, paths or values. */
const INLINE_COMMAND =
  /^(npx|npm|bun|B1_ENSEMBLE=1 npm|systemctl|loginctl|journalctl|sudo|tail|grep|export|schtasks|Get-Content|New-Item|cd) /;

/** A trailing shell comment (`  # …`) outside quotes. */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

/** Every command README.md and docs/RUNBOOK.md show: fenced sh / powershell / cron lines and command code spans. */
export function shownCommands(repo: string, docs: string[]): Shown[] {
  const byText = new Map<string, Shown>();
  const add = (s: Omit<Shown, 'where'>, where: string) => {
    const seen = byText.get(s.text);
    if (seen) seen.where.push(where);
    else byText.set(s.text, { ...s, where: [where] });
  };
  for (const doc of docs) {
    const lines = readFileSync(join(repo, doc), 'utf8').split('\n');
    let fence: string | null = null;
    let cronEnv: Record<string, string> = {};
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const where = `${doc}:${i + 1}`;
      const open = /^```(\S*)/.exec(line);
      if (open) {
        fence = fence === null ? open[1]! || 'text' : null;
        cronEnv = {};
        continue;
      }
      if (fence !== null) {
        if (!FENCED.has(fence)) continue;
        let text = line;
        // A continued line (`\` at the end) is one command with the next.
        while (text.endsWith('\\') && i + 1 < lines.length)
          text = `${text.slice(0, -1)}${lines[++i]!.trim()}`;
        text = stripComment(text).trim();
        if (!text) continue;
        if (fence === 'cron') {
          const assign = /^([A-Z_]+)=(.*)$/.exec(text);
          if (assign) {
            cronEnv[assign[1]!] = assign[2]!;
            continue;
          }
          const m = /^(\S+\s+){5}(.*)$/.exec(text);
          if (!m) throw new Error(`${where}: not a crontab line: ${text}`);
          add({ text: m[2]!.trim(), kind: 'cron', cronEnv: { ...cronEnv } }, where);
          continue;
        }
        add({ text, kind: fence as 'sh' | 'powershell' }, where);
        continue;
      }
      for (const span of line.matchAll(/`([^`]+)`/g))
        if (INLINE_COMMAND.test(span[1]!)) add({ text: span[1]!, kind: 'inline' }, where);
    }
  }
  return [...byText.values()];
}

/** A crontab command as cron's shell gets it: `\%` is a literal `%` (a bare one would end the command). */
export function cronCommand(text: string): string {
  return text.replaceAll('\\%', '%');
}
