import { parseModelSource } from '../../../trainer/src/serve/model-source';

test.each([
  ['runs:/0a1b2c/model', { kind: 'run', uri: 'runs:/0a1b2c/model', runId: '0a1b2c' }],
  ['models:/malaria@champion', { kind: 'registry', uri: 'models:/malaria@champion', name: 'malaria', alias: 'champion' }],
  ['models:/malaria/3', { kind: 'registry', uri: 'models:/malaria/3', name: 'malaria', version: '3' }],
  ['models:/m-4e37ac4af1f046b5bf794840a61f83cc', { kind: 'logged-model', uri: 'models:/m-4e37ac4af1f046b5bf794840a61f83cc', modelId: 'm-4e37ac4af1f046b5bf794840a61f83cc' }],
  ['runs/2025-01-01-compact', { kind: 'folder', path: 'runs/2025-01-01-compact' }],
  ['C:\\runs\\a', { kind: 'folder', path: 'C:\\runs\\a' }],
])('%s', (argument, expected) => {
  expect(parseModelSource(argument)).toEqual(expected);
});

test.each(['s3://bucket/model', 'models:/malaria', 'models:/malaria/latest', 'runs:/abc', 'models:/m-4e37ac4af1f046b5bf794840a61f83cc/MLmodel'])('%s is refused with the accepted forms', (argument) => {
  expect(() => parseModelSource(argument)).toThrow(/--model .*: unsupported URI; use runs:\/<run_id>\/model/);
});
