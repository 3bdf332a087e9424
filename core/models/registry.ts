import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { configError } from '../errors.ts';
import { readJsonFile } from '../fsx/json-file.ts';
import { log } from '../log.ts';
import { MODEL_CLASSES, ModelManifest } from '../schema/model-manifest.ts';
import { type LiveFeatures, manifestMismatch, onnxInputMismatch } from './contract.ts';
import { type ModelSession, openOnnxSession } from './runtime.ts';

/** A model that passed the contract guard, ready to run. */
export type UsableModel = { id: string; sha256: string; manifest: ModelManifest; session: ModelSession };

/** A model the guard refused; `symbol`/`timeframe` are null when no valid manifest says which it serves. */
export type SkippedModel = {
  id: string;
  sha256: string | null;
  reason: string;
  symbol: string | null;
  timeframe: string | null;
};

export type ModelDirectory = { dir: string; usable: UsableModel[]; skipped: SkippedModel[] };

const MANIFEST_SUFFIX = '.manifest.json';
const warned = new Set<string>();

/**
 * Load every model in a directory behind the contract guard. A model whose manifest is missing
 * or invalid, whose sha256 differs from its .onnx, whose features disagree with the live feature
 * vector (count, names, order, feature-set id), or whose ONNX input shape disagrees is skipped:
 * one warning per model per process, naming the model and the mismatch. Never throws for a bad
 * model; a missing directory given explicitly is a configuration error.
 */
export async function loadModelDirectory(
  dir: string,
  live: LiveFeatures,
  opts: { explicit: boolean; open?: (bytes: Uint8Array) => Promise<ModelSession> },
): Promise<ModelDirectory> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    if (opts.explicit)
      throw configError(
        `models directory ${dir} ${existsSync(dir) ? 'is a file, not a directory' : 'does not exist'}`,
        'train models with `npx atl train --models-dir DIR` or point --models-dir at a directory of .onnx files',
      );
    return { dir, usable: [], skipped: [] };
  }
  const files = readdirSync(dir).sort();
  const stems = new Set<string>();
  for (const f of files) {
    if (f.endsWith('.onnx')) stems.add(f.slice(0, -'.onnx'.length));
    else if (f.endsWith(MANIFEST_SUFFIX)) stems.add(f.slice(0, -MANIFEST_SUFFIX.length));
  }
  const out: ModelDirectory = { dir, usable: [], skipped: [] };
  for (const stem of [...stems].sort()) {
    const result = await guardModel(dir, stem, live, opts.open ?? openOnnxSession);
    if ('session' in result) out.usable.push(result);
    else {
      out.skipped.push(result);
      warnOnce(result);
    }
  }
  return out;
}

async function guardModel(
  dir: string,
  stem: string,
  live: LiveFeatures,
  open: (bytes: Uint8Array) => Promise<ModelSession>,
): Promise<UsableModel | SkippedModel> {
  const onnxPath = join(dir, `${stem}.onnx`);
  const bytes = existsSync(onnxPath) ? readFileSync(onnxPath) : null;
  const sha256 = bytes ? (Bun.CryptoHasher.hash('sha256', bytes, 'hex') as string) : null;
  const skip = (reason: string, m: ModelManifest | null = null): SkippedModel => ({
    id: stem,
    sha256,
    reason,
    symbol: m?.symbol ?? null,
    timeframe: m?.timeframe ?? null,
  });
  const read = readJsonFile(join(dir, `${stem}${MANIFEST_SUFFIX}`), ModelManifest);
  if (read.kind === 'missing') return skip(`manifest_missing:${stem}${MANIFEST_SUFFIX}`);
  if (read.kind === 'invalid') return skip(`manifest_invalid:${read.problem}`);
  const manifest = read.value;
  if (!bytes || !sha256) return skip(`onnx_missing:${stem}.onnx`, manifest);
  const mismatch = manifestMismatch(manifest, live, sha256, stem);
  if (mismatch) return skip(mismatch, manifest);
  let session: ModelSession;
  try {
    session = await open(bytes);
  } catch (err) {
    return skip(`onnx_load_failed:${firstLine(err)}`, manifest);
  }
  const shape = onnxInputMismatch(session.inputType, session.inputShape, live.names.length);
  if (shape) return skip(shape, manifest);
  // One all-zero row proves the graph runs and yields one probability per class.
  try {
    const probe = await session.run(new Float32Array(live.names.length), 1, live.names.length);
    if (probe.length !== MODEL_CLASSES.length)
      return skip(
        `onnx_output_mismatch:model gives ${probe.length} values, expected ${MODEL_CLASSES.length}`,
        manifest,
      );
  } catch (err) {
    return skip(`onnx_run_failed:${firstLine(err)}`, manifest);
  }
  return { id: stem, sha256, manifest, session };
}

/**
 * The timeframe most models in `dir` serve for `symbols`, read from their manifests alone (no ONNX
 * loaded; the contract guard still judges each model when the run starts); null when none does.
 * A tie goes to the longer timeframe's name order, so the answer never depends on file order.
 */
export function servedTimeframe(dir: string, symbols: string[]): string | null {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return null;
  const counts = new Map<string, number>();
  for (const f of readdirSync(dir)) {
    if (!f.endsWith(MANIFEST_SUFFIX)) continue;
    const read = readJsonFile(join(dir, f), ModelManifest);
    if (read.kind !== 'ok' || !symbols.includes(read.value.symbol)) continue;
    counts.set(read.value.timeframe, (counts.get(read.value.timeframe) ?? 0) + 1);
  }
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || b[0].localeCompare(a[0]));
  return ranked[0]?.[0] ?? null;
}

function warnOnce(m: SkippedModel): void {
  if (warned.has(m.id)) return;
  warned.add(m.id);
  log.warn(`model ${m.id} skipped: ${m.reason}`);
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err)
    .split('\n')[0]!
    .slice(0, 160);
}
