import { parseTrainConfig } from '../trainer/src/config';
import { UserError } from '../trainer/src/user-error';

describe('parseTrainConfig', () => {
  test('fills every default', () => {
    const config = parseTrainConfig({});
    expect(config).toMatchObject({ model: 'compact', imageSize: 100, split: 'patient', splitFractions: [0.8, 0.1, 0.1] });
  });

  test.each([
    [{ epochs: 0 }, '--epochs'],
    [{ splitFractions: [0.5, 0.1, 0.1] }, '--split-fractions'],
    [{ backend: 'cuda' }, '--backend'],
    [{ bogus: 1 }, '--bogus: unknown option'],
    [{ epochz: 1 }, '--epochz: unknown option; did you mean --epochs?'],
  ])('rejects %j naming %s', (input, key) => {
    expect(() => parseTrainConfig(input)).toThrow(UserError);
    expect(() => parseTrainConfig(input)).toThrow(key);
  });
});
