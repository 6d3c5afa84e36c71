// TF.js 4.22.0 for Node.js without native addons or extra packages: the copy bundled in
// @vladmandic/face-api's browser build (tfjs-core, converter and the pure-JS CPU backend).
// face-api's Node builds need @tensorflow/tfjs-node (a native download), and the standalone
// @tensorflow/tfjs package adds ~290 MB; the bundle is already in the model pack.
// We load it with `process` hidden, so that it does not take its Node path, and hand it the
// few platform and environment functions it uses, from Node's own globals.
const fs = require('fs');
const path = require('path');

function loadFaceApi(packageDir) {
  const src = fs.readFileSync(path.join(packageDir, 'dist', 'face-api.js'), 'utf8');
  // eslint-disable-next-line no-new-func
  const faceapi = new Function('require', 'process', `${src}\nreturn faceapi;`)(require, undefined);
  faceapi.tf.setPlatform('facegate', {
    fetch: globalThis.fetch,
    now: () => performance.now(),
    encode: (s) => new TextEncoder().encode(s),
    decode: (b, e) => new TextDecoder(e).decode(b),
    isTypedArray: (a) => ArrayBuffer.isView(a) && !(a instanceof DataView),
  });
  class Stub {}
  faceapi.env.setEnv({
    Canvas: Stub, CanvasRenderingContext2D: Stub, Image: Stub, ImageData: Stub, Video: Stub,
    createCanvasElement: () => ({}), createImageElement: () => ({}), createVideoElement: () => ({}),
    fetch: globalThis.fetch, readFile: (p) => fs.promises.readFile(p),
  });
  return faceapi;
}

// Read a float32 input file and the weights of a TF.js weights manifest.
function readInput(inputFile, dims) {
  const buf = fs.readFileSync(inputFile);
  return { data: new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4), shape: dims.split(',').map(Number) };
}

function readWeights(groups, baseDir) {
  const specs = groups.flatMap((g) => g.weights);
  const data = Buffer.concat(groups.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(baseDir, p)))));
  return { specs, buffer: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) };
}

module.exports = { loadFaceApi, readInput, readWeights };
