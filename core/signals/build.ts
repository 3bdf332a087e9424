import { existsSync, readdirSync } from 'node:fs';
import { ShadowAdvisor } from '../advisor/advisor.ts';
import { oneOf } from '../errors.ts';
import { FEATURE_NAMES, FEATURE_SET_ID } from '../features/feature-set.ts';
import { log } from '../log.ts';
import { VOTING_STRATEGIES, type VotingStrategy } from '../models/ensemble.ts';
import { loadModelDirectory } from '../models/registry.ts';
import { BUNDLED_MODELS_DIR } from '../paths.ts';
import { ModelSignalChain } from './model-chain.ts';

const holdsManifest = (dir: string) =>
  existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.manifest.json'));

export type ModelChainRequest = {
  /**
   * `--models-dir`; null: the data root's `models/` when it holds a manifest, else the bundled
   * data/models (a missing default directory just means no models).
   */
  modelsDir: string | null;
  dataRootModelsDir: string;
  voting: string;
  timeframe: string;
  timeframeMs: number;
  minConfidence: number;
  advisorStatePath: string | null;
};

/** The models directory a run uses: `--models-dir`, else the data root's when it holds a manifest, else the bundled one. */
export const runModelsDir = (modelsDir: string | null, dataRootModelsDir: string): string =>
  modelsDir ?? (holdsManifest(dataRootModelsDir) ? dataRootModelsDir : BUNDLED_MODELS_DIR);

/**
 * The run's signal chain: every model in the models directory behind the contract guard (one
 * warning per refused model), the ensemble for the symbols and timeframe they serve, technical
 * rules where none is usable, and the shadow advisor.
 */
export async function buildModelChain(req: ModelChainRequest): Promise<ModelSignalChain> {
  oneOf(req.voting, VOTING_STRATEGIES, `unknown voting strategy "${req.voting}"`);
  const dir = runModelsDir(req.modelsDir, req.dataRootModelsDir);
  const models = await loadModelDirectory(
    dir,
    { featureSetId: FEATURE_SET_ID, names: FEATURE_NAMES },
    { explicit: req.modelsDir !== null },
  );
  const serving = models.usable.filter((m) => m.manifest.timeframe === req.timeframe);
  log.info(
    `models: ${models.usable.length} usable, ${models.skipped.length} skipped in ${dir}; ${serving.length} serve ${req.timeframe} (${serving.map((m) => m.id).join(', ') || 'none: technical rules decide'})`,
  );
  return new ModelSignalChain({
    models,
    timeframe: req.timeframe,
    timeframeMs: req.timeframeMs,
    voting: req.voting as VotingStrategy,
    minConfidence: req.minConfidence,
    advisor: new ShadowAdvisor(req.advisorStatePath),
  });
}
