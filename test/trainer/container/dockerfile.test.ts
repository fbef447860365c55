import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IgnoreStrategy } from 'aws-cdk-lib';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate, ValidationSeverity } from 'dockerfile-utils';

const root = join(__dirname, '../../..');
const content = readFileSync(join(root, 'trainer/Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(content);
const froms = dockerfile.getFROMs();
const instructions = dockerfile.getInstructions();

/** The instructions of the last stage (after its FROM). */
function finalStage(): Instruction[] {
  const lastFrom = froms[froms.length - 1];
  return instructions.filter((i) => i.getRange().start.line > lastFrom.getRange().start.line);
}

function argsOf(instruction: Instruction): string[] {
  return instruction.getArguments().map((a) => a.getValue());
}

test('the linter finds no error or warning', () => {
  const problems = validate(content).filter((d) => d.severity === ValidationSeverity.ERROR || d.severity === ValidationSeverity.WARNING);
  expect(problems.map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
});

test('is a multi-stage build whose stages are all pinned by digest, none by a latest tag', () => {
  expect(froms.length).toBeGreaterThanOrEqual(2);
  for (const from of froms) {
    expect({ image: from.getImageName(), digest: from.getImageDigest() }).toEqual({ image: from.getImageName(), digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect(from.getImageTag()).not.toBe('latest');
    expect(from.getImageTag()).toBeTruthy();
  }
});

test('runs on CUDA 11 with cuDNN 8, which libtensorflow 2.9.1 in tfjs-node-gpu 4.22 needs', () => {
  const base = froms[froms.length - 1];
  expect(base.getImageName()).toBe('nvidia/cuda');
  expect(base.getImageTag()).toMatch(/^11\.\d+\.\d+-cudnn8-runtime-/);
});

test('the final stage runs as a non-root user the same command as a laptop', () => {
  const stage = finalStage();
  const users = stage.filter((i) => i.getKeyword() === 'USER').map((i) => argsOf(i)[0]);
  expect(users.length).toBeGreaterThan(0);
  expect(['root', '0', '0:0']).not.toContain(users[users.length - 1]);
  const entrypoint = stage.filter((i) => i.getKeyword() === 'ENTRYPOINT').pop();
  expect(entrypoint?.getArgumentsContent()).toBe('["node", "/app/train.js"]');
  expect(stage.some((i) => i.getKeyword() === 'CMD')).toBe(true);
});

test('the final stage installs nothing: no package manager, no compilers, only copies from the build stage', () => {
  const runs = finalStage().filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent() ?? '');
  expect(runs.filter((cmd) => /\b(apt-get|apt|npm|npx|yarn|pip|gcc|g\+\+|make|curl|wget)\b/.test(cmd))).toEqual([]);
  const copies = finalStage().filter((i) => i.getKeyword() === 'COPY');
  expect(copies.length).toBeGreaterThan(0);
  expect(copies.every((c) => /--from=build\b/.test(c.getTextContent()))).toBe(true);
});

describe('.dockerignore (the build context is the repository root)', () => {
  const patterns = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  // The same rules the CDK image asset hashes with, so ignored files do not trigger image rebuilds.
  const ignore = IgnoreStrategy.docker(root, patterns);
  const ignored = (path: string) => ignore.ignores(join(root, path));

  test.each(['node_modules/x/index.js', 'cdk.out/manifest.json', 'runs/2026-compact/params.json', '.git/HEAD', 'test/config.test.ts', 'lib/network.ts',
    'trainer/dist/train.js', 'trainer/runtime/node_modules/@tensorflow/tfjs/package.json', 'npm-debug.log'])('keeps %s out', (path) => {
    expect(ignored(path)).toBe(true);
  });

  test('lets in every file the Dockerfile copies from the context', () => {
    const sources = instructions
      .filter((i) => i.getKeyword() === 'COPY' && !/--from=/.test(i.getTextContent()))
      .flatMap((i) => argsOf(i).slice(0, -1));
    expect(sources).toEqual(expect.arrayContaining(['trainer/runtime/package-lock.json', 'package-lock.json', 'trainer']));
    for (const source of sources) {
      expect(existsSync(join(root, source))).toBe(true);
      expect({ source, ignored: ignored(source) }).toEqual({ source, ignored: false });
    }
    for (const file of ['trainer/build.mjs', 'trainer/src/cli/main.ts', 'trainer/src/config.ts']) expect({ file, ignored: ignored(file) }).toEqual({ file, ignored: false });
  });
});
