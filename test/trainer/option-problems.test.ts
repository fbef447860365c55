import { z } from 'zod';
import { checkOptions, closestMatch } from '../../trainer/src/option-problems';

describe('closestMatch', () => {
  test.each([
    ['epoch', 'epochs'],
    ['batchsize', 'batchSize'],
    ['lerning-rate', 'learning-rate'],
  ])('suggests %s -> %s', (typed, expected) => {
    expect(closestMatch(typed, ['epochs', 'batchSize', 'learning-rate', 'seed'])).toBe(expected);
  });

  test('suggests nothing when nothing is close', () => {
    expect(closestMatch('dropout', ['epochs', 'batchSize', 'seed'])).toBeUndefined();
  });
});

describe('checkOptions', () => {
  const Schema = z.object({
    count: z.number().int().positive(),
    ratio: z.number().min(0).max(1),
    name: z.string().min(1),
    mode: z.enum(['fast', 'slow']),
    flag: z.boolean(),
    custom: z.number().refine((v) => v !== 13, 'must not be 13'),
  }).strict();
  const flag = (key: string) => `--${key}`;

  test.each([
    [{ count: 0 }, '--count: must be a whole number of at least 1 (got 0)'],
    [{ count: 1.5 }, '--count: must be a whole number (got 1.5)'],
    [{ count: 'two' }, '--count: must be a number (got "two")'],
    [{ ratio: 2 }, '--ratio: must be at most 1 (got 2)'],
    [{ ratio: -1 }, '--ratio: must be at least 0 (got -1)'],
    [{ name: '' }, '--name: must not be empty (got "")'],
    [{ mode: 'medium' }, '--mode: must be one of fast, slow (got "medium")'],
    [{ flag: 'yes' }, '--flag: must be true or false (got "yes")'],
    [{ custom: 13 }, '--custom: must not be 13 (got 13)'],
    [{ cuont: 1 }, '--cuont: unknown option; did you mean --count?'],
  ])('%j: %s', (input, problem) => {
    const valid = { count: 1, ratio: 0.5, name: 'a', mode: 'fast', flag: true, custom: 1 };
    const { problems } = checkOptions(Schema, { ...valid, ...input }, flag);
    expect(problems).toEqual([problem]);
  });

  test('valid options come back typed, with no problems', () => {
    expect(checkOptions(Schema, { count: 2, ratio: 0, name: 'x', mode: 'slow', flag: false, custom: 0 }, flag))
      .toEqual({ data: { count: 2, ratio: 0, name: 'x', mode: 'slow', flag: false, custom: 0 }, problems: [] });
  });
});
