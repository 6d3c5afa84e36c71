// Run face-api's FaceRecognitionNet (its own network code, on the TF.js bundled with it, CPU
// backend): the reference that the ONNX graph rebuilt by faceapi_resnet.py is checked against.
// Usage: FACEAPI_DIR=<face-api package> node faceapi_run.js WEIGHTS_MANIFEST INPUT_F32 DIMS OUT_DIR
// DIMS is n,150,150,3 (RGB 0..255). Writes OUT_DIR/0.f32 (n x 128) and prints its shape.
const fs = require('fs');
const path = require('path');
const { loadFaceApi, readInput, readWeights } = require('./tfjs_env.js');

async function main() {
  const [manifestFile, inputFile, dims, outDir] = process.argv.slice(2);
  const faceapi = loadFaceApi(process.env.FACEAPI_DIR);
  const { tf } = faceapi;
  await tf.setBackend('cpu');
  await tf.ready();
  const weights = readWeights(JSON.parse(fs.readFileSync(manifestFile, 'utf8')), path.dirname(manifestFile));
  const net = new faceapi.FaceRecognitionNet();
  net.loadFromWeightMap(tf.io.decodeWeights(weights.buffer, weights.specs));
  const input = readInput(inputFile, dims);
  const size = input.shape[1] * input.shape[2] * input.shape[3];
  const parts = [];
  for (let i = 0; i < input.shape[0]; i += 1) {
    const image = tf.tensor3d(input.data.slice(i * size, (i + 1) * size), input.shape.slice(1));
    const descriptor = await net.computeFaceDescriptor(image);
    parts.push(Buffer.from(new Float32Array(descriptor).buffer));
    image.dispose();
  }
  fs.writeFileSync(path.join(outDir, '0.f32'), Buffer.concat(parts));
  process.stdout.write(JSON.stringify([[input.shape[0], 128]]));
}

main().catch((e) => { console.error(e); process.exit(1); });
