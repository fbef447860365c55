// TF.js's plain-JS backend advertises tfjs-node on first use; the tests use that backend on
// purpose (as the reference for gradients and for small models), so the banner is noise there.
const warn = console.warn;
console.warn = (...args) => {
  if (typeof args[0] === 'string' && args[0].includes('looks like you are running TensorFlow.js in Node.js')) return;
  warn(...args);
};
