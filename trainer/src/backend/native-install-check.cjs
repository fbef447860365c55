// `npm ci` / `npm install` postinstall: says in one line whether the optional native TensorFlow
// (@tensorflow/tfjs-node) installed. Its install script downloads libtensorflow, which fails
// without internet access; npm then drops the optional package without a word, and training
// falls back to WebAssembly (trainer/src/backend/select-backend.ts). Plain JavaScript: it runs
// before anything is compiled.
const fs = require('node:fs');
const path = require('node:path');

function nativeTensorFlowInstalled() {
  try {
    const root = path.dirname(require.resolve('@tensorflow/tfjs-node/package.json'));
    const lib = path.join(root, 'lib');
    return fs.readdirSync(lib).some((dir) => fs.existsSync(path.join(lib, dir, 'tfjs_binding.node')));
  } catch {
    return false;
  }
}

if (nativeTensorFlowInstalled()) {
  console.log('@tensorflow/tfjs-node installed: training uses native TensorFlow on the CPU.');
} else {
  console.warn('note: optional @tensorflow/tfjs-node (native TensorFlow) not installed: its install downloads libtensorflow '
    + 'and needs internet access. Training uses WebAssembly; run `npm ci` with internet access for native speed.');
}
