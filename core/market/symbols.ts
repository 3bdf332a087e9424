import { excerpt, usageError } from '../errors.ts';

// BASE/QUOTE as ccxt spells spot pairs; a settle suffix (`BTC/USDT:USDT`) is not a spot symbol.
const SYMBOL = /^[A-Z0-9][A-Z0-9._-]{0,19}\/[A-Z0-9][A-Z0-9._-]{0,19}$/;

/**
 * `--symbols BTC/USDT,eth/usdt` → `['BTC/USDT', 'ETH/USDT']`; null when the flag is absent. An
 * empty list, an empty entry, a malformed or repeated symbol is a usage error, never "the defaults".
 */
export function parseSymbolList(raw: string | undefined, flag = '--symbols'): string[] | null {
  if (raw === undefined) return null;
  const example = `give a comma list such as ${flag} BTC/USDT,ETH/USDT`;
  const entries = raw.split(',').map((s) => s.trim().toUpperCase());
  if (entries.every((s) => s === ''))
    throw usageError(`${flag} names no symbol (got "${excerpt(raw)}")`, example);
  if (entries.some((s) => s === ''))
    throw usageError(`${flag} has an empty entry ("${excerpt(raw)}")`, example);
  const bad = entries.find((s) => !SYMBOL.test(s));
  if (bad !== undefined)
    throw usageError(
      `${flag}: "${excerpt(bad)}" is not a BASE/QUOTE symbol`,
      'write it as BTC/USDT (base, slash, quote)',
    );
  const twice = entries.find((s, i) => entries.indexOf(s) !== i);
  if (twice !== undefined) throw usageError(`${flag} names ${twice} twice`, 'name each symbol once');
  return entries;
}

/** `--symbol btc/usdt` → `'BTC/USDT'`; null when absent; a list, or anything `parseSymbolList` refuses, is a usage error. */
export function parseSymbol(raw: string | undefined, flag = '--symbol'): string | null {
  const list = parseSymbolList(raw, flag);
  if (list && list.length !== 1) throw usageError(`${flag} takes one symbol (got "${excerpt(raw!)}")`);
  return list?.[0] ?? null;
}
