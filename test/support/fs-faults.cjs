/**
 * Preloaded into a command under test (NODE_OPTIONS=--require .../fs-faults.cjs) to make the file
 * system refuse or hang at one place, as a read-only mount, a full disk or a hung network mount
 * would, without root or a real mount. FS_FAULT_PATH: the place (it and everything under it);
 * FS_FAULT_CODE: EROFS, ENOSPC (or any errno code) to fail with, or HANG to never answer.
 * Only calls that create or write are touched: reading and listing work as before.
 */
const fs = require('node:fs');
const path = require('node:path');

const where = process.env.FS_FAULT_PATH && path.resolve(process.env.FS_FAULT_PATH);
const code = process.env.FS_FAULT_CODE;
const MESSAGES = { EROFS: 'read-only file system', ENOSPC: 'no space left on device', EACCES: 'permission denied', EDQUOT: 'disk quota exceeded' };

function hit(target) {
  if (!where || typeof target !== 'string') return false;
  const full = path.resolve(target);
  return full === where || full.startsWith(`${where}${path.sep}`);
}

function fault(syscall, target) {
  const error = new Error(`${code}: ${MESSAGES[code] ?? 'injected fault'}, ${syscall} '${target}'`);
  Object.assign(error, { code, syscall, path: target, errno: -1 });
  return error;
}

const WRITES = ['mkdir', 'writeFile', 'appendFile', 'open', 'rename', 'copyFile', 'mkdtemp'];
const writesFile = (name, args) => name !== 'open' || /[wa+]/.test(String(args[1] ?? 'r'));

if (where && code) {
  for (const name of WRITES) {
    const original = fs.promises[name];
    fs.promises[name] = function (target, ...rest) {
      if (!hit(target) || !writesFile(name, [target, ...rest])) return original.call(this, target, ...rest);
      return code === 'HANG' ? new Promise(() => undefined) : Promise.reject(fault(name, target));
    };
    const sync = `${name}Sync`;
    const originalSync = fs[sync];
    fs[sync] = function (target, ...rest) {
      if (!hit(target) || !writesFile(name, [target, ...rest])) return originalSync.call(this, target, ...rest);
      if (code === 'HANG') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      throw fault(name, target);
    };
    const originalCallback = fs[name];
    fs[name] = function (target, ...rest) {
      if (!hit(target) || !writesFile(name, [target, ...rest])) return originalCallback.call(this, target, ...rest);
      const callback = rest.at(-1);
      if (code !== 'HANG' && typeof callback === 'function') process.nextTick(callback, fault(name, target));
      return undefined;
    };
  }
}
