import { decodeRunParameter, deployRunId, encodeRunParameter, newRunId, RUN_ID_PATTERN } from '../../lib/run-parameter';
import { UserError } from '../../trainer/src/user-error';

describe('run parameter', () => {
  test('round-trips the run id and the arguments, one per line', () => {
    const request = { runId: '20261125-204100-cnn-2', args: ['--model', 'cnn-2', '--data', 'https://example.org/a b.zip'] };
    const encoded = encodeRunParameter(request);
    expect(encoded.split('\n')).toEqual(['20261125-204100-cnn-2', '--model', 'cnn-2', '--data', 'https://example.org/a b.zip']);
    expect(decodeRunParameter(encoded)).toEqual(request);
  });

  test('a run with default options is the run id alone', () => {
    expect(decodeRunParameter(encodeRunParameter({ runId: 'r1', args: [] }))).toEqual({ runId: 'r1', args: [] });
  });

  test.each([
    [{ runId: 'Run_1', args: [] }, 'run id "Run_1"'],
    [{ runId: 'r1', args: ['--data', 'a\nb'] }, 'line breaks cannot be passed'],
    [{ runId: 'r1', args: ['--data', ''] }, 'empty values'],
  ])('refuses what the boot script could not read back: %j', (request, message) => {
    expect(() => encodeRunParameter(request)).toThrow(UserError);
    expect(() => encodeRunParameter(request)).toThrow(message);
  });

  test('a deploy names its run after the image and the arguments', () => {
    const id = deployRunId('a'.repeat(64), ['--epochs', '10']);
    expect(id).toMatch(/^deploy-[0-9a-f]{12}$/);
    expect(deployRunId('a'.repeat(64), ['--epochs', '10'])).toBe(id);
    expect(deployRunId('b'.repeat(64), ['--epochs', '10'])).not.toBe(id);
    expect(deployRunId('a'.repeat(64), ['--epochs', '11'])).not.toBe(id);
  });

  test('a hand-started run is named by its UTC start time and model', () => {
    const id = newRunId('cnn-2', new Date('2026-11-25T20:41:07.123Z'));
    expect(id).toBe('20261125-204107-cnn-2');
    expect(id).toMatch(RUN_ID_PATTERN);
  });
});
