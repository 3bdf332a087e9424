import { onnx } from 'onnx-proto';
import type { DenseNetwork } from './network.ts';

export const ONNX_INPUT = 'features';
export const ONNX_OUTPUT = 'probabilities';
const OPSET = 13;
const IR_VERSION = 8;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

export type OnnxMetadata = {
  modelId: string;
  featureSetId: string;
  features: readonly string[];
  producerVersion: string;
};

/** A float32 tensor initializer; raw_data is little-endian as ONNX requires (every host we run on is). */
function tensor(name: string, dims: number[], values: Float32Array): onnx.ITensorProto {
  return {
    name,
    dims,
    dataType: FLOAT,
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  };
}

function floatInfo(name: string, width: number): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: width }] } } },
  };
}

/**
 * Serialise a dense classifier as an ONNX ModelProto (opset 13):
 * features → Sub(mean) → Mul(scale) → Clip(±clip) → [Gemm → Relu]* → Gemm → Softmax → probabilities.
 * Input `[batch, inputs]` float32, output `[batch, classes]`. The same network always encodes to
 * the same bytes.
 */
export function encodeOnnx(net: DenseNetwork, meta: OnnxMetadata): Uint8Array {
  const nodes: onnx.INodeProto[] = [
    { name: 'center', opType: 'Sub', input: [ONNX_INPUT, 'scaler_mean'], output: ['centered'] },
    { name: 'scale', opType: 'Mul', input: ['centered', 'scaler_scale'], output: ['standardized'] },
    { name: 'clip', opType: 'Clip', input: ['standardized', 'clip_min', 'clip_max'], output: ['clipped'] },
  ];
  const initializers = [
    tensor('scaler_mean', [net.inputs], net.mean),
    tensor('scaler_scale', [net.inputs], net.scale),
    tensor('clip_min', [], Float32Array.of(-net.clip)),
    tensor('clip_max', [], Float32Array.of(net.clip)),
  ];
  let current = 'clipped';
  net.layers.forEach((layer, i) => {
    const last = i === net.layers.length - 1;
    const out = last ? 'logits' : `dense${i}`;
    initializers.push(
      tensor(`dense${i}_weight`, [layer.inputs, layer.outputs], layer.weights),
      tensor(`dense${i}_bias`, [layer.outputs], layer.bias),
    );
    nodes.push({
      name: `dense${i}`,
      opType: 'Gemm',
      input: [current, `dense${i}_weight`, `dense${i}_bias`],
      output: [out],
    });
    current = out;
    if (!last) {
      nodes.push({ name: `relu${i}`, opType: 'Relu', input: [out], output: [`${out}_relu`] });
      current = `${out}_relu`;
    }
  });
  nodes.push({
    name: 'softmax',
    opType: 'Softmax',
    input: [current],
    output: [ONNX_OUTPUT],
    attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 }],
  });
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'atl',
    producerVersion: meta.producerVersion,
    modelVersion: 1,
    docString: `atl model ${meta.modelId}: 3-class (down, flat, up) probabilities from feature set ${meta.featureSetId}`,
    opsetImport: [{ domain: '', version: OPSET }],
    metadataProps: [
      { key: 'atl.model_id', value: meta.modelId },
      { key: 'atl.feature_set_id', value: meta.featureSetId },
      { key: 'atl.features', value: meta.features.join(',') },
    ],
    graph: {
      name: meta.modelId,
      node: nodes,
      initializer: initializers,
      input: [floatInfo(ONNX_INPUT, net.inputs)],
      output: [floatInfo(ONNX_OUTPUT, net.classes)],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
