import { ONNX_INPUT, ONNX_OUTPUT } from './onnx-export.ts';

/** One loaded model, as the rest of the code sees the ONNX runtime. */
export interface ModelSession {
  readonly inputName: string;
  readonly inputType: string;
  /** Declared input dims; strings are symbolic (the batch). */
  readonly inputShape: readonly (number | string)[];
  /** Class probabilities (`rows × classes`, row-major) for `rows` feature rows. */
  run(features: Float32Array, rows: number, width: number): Promise<Float32Array>;
}

type Ort = typeof import('onnxruntime-node');
let ortModule: Promise<Ort> | null = null;

/** onnxruntime is loaded on first use only, so verbs that never run a model never load it. */
function loadOrt(): Promise<Ort> {
  ortModule ??= import('onnxruntime-node');
  return ortModule;
}

/**
 * Open an ONNX model with onnxruntime on one thread, sequentially: the engine already owns the
 * cores, and identical inputs then give identical outputs whatever the batch size.
 */
export async function openOnnxSession(bytes: Uint8Array): Promise<ModelSession> {
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const meta = session.inputMetadata[0];
  const tensorMeta = meta?.isTensor ? meta : null;
  const inputName = session.inputNames[0] ?? ONNX_INPUT;
  const outputName = session.outputNames.includes(ONNX_OUTPUT)
    ? ONNX_OUTPUT
    : (session.outputNames[0] ?? ONNX_OUTPUT);
  return {
    inputName,
    inputType: tensorMeta?.type ?? 'unknown',
    inputShape: tensorMeta?.shape ?? [],
    async run(features, rows, width) {
      const input = new ort.Tensor('float32', features.subarray(0, rows * width), [rows, width]);
      const out = await session.run({ [inputName]: input });
      return out[outputName]!.data as Float32Array;
    },
  };
}
