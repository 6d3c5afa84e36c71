// Run a TF.js graph model with TF.js's pure-JavaScript CPU backend: the reference runtime that
// converted ONNX models are checked against (tfjs_env.js says where TF.js comes from).
// Usage: FACEAPI_DIR=<face-api package> node tfjs_run.js MODEL_JSON INPUT_F32 DIMS OUT_DIR OUTPUT...
// Writes OUT_DIR/<i>.f32 (raw float32) and prints a JSON list of output shapes.
const fs = require('fs');
const path = require('path');
const { loadFaceApi, readInput, readWeights } = require('./tfjs_env.js');

async function main() {
  const [modelJson, inputFile, dims, outDir, ...outputs] = process.argv.slice(2);
  const { tf } = loadFaceApi(process.env.FACEAPI_DIR);
  await tf.setBackend('cpu');
  await tf.ready();
  const spec = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  const weights = readWeights(spec.weightsManifest, path.dirname(modelJson));
  const handler = {
    load: async () => ({
      modelTopology: spec.modelTopology,
      weightSpecs: weights.specs,
      weightData: weights.buffer,
      format: spec.format,
      signature: spec.signature,
      userDefinedMetadata: spec.userDefinedMetadata,
    }),
  };
  const model = await tf.loadGraphModel(handler);
  const input = readInput(inputFile, dims);
  // An integer input (MoveNet takes int32 pixels) gets the same integral values as int32.
  const x = tf.tensor(input.data, input.shape, model.inputs[0].dtype || 'float32');
  // One item at a time: some graphs (blazeface) have a fixed batch of 1.
  const parts = outputs.map(() => []);
  const shapes = outputs.map(() => null);
  for (let b = 0; b < x.shape[0]; b += 1) {
    let ys = model.execute(x.slice([b], [1]), outputs);
    if (!Array.isArray(ys)) ys = [ys];
    ys.forEach((y, i) => {
      parts[i].push(Buffer.from(new Float32Array(y.dataSync()).buffer));
      shapes[i] = [x.shape[0], ...y.shape.slice(1)];
    });
  }
  parts.forEach((p, i) => fs.writeFileSync(path.join(outDir, `${i}.f32`), Buffer.concat(p)));
  process.stdout.write(JSON.stringify(shapes));
}

main().catch((e) => { console.error(e); process.exit(1); });
