import { isLoopback, modelServerToken } from '../../../trainer/src/serve/serve-options';
import { UserError } from '../../../trainer/src/user-error';

describe('MODEL_SERVER_TOKEN', () => {
  test('unset or empty leaves the server open', () => {
    expect(modelServerToken({})).toBeUndefined();
    expect(modelServerToken({ MODEL_SERVER_TOKEN: ' ' })).toBeUndefined();
  });

  test('a token is used as given', () => {
    expect(modelServerToken({ MODEL_SERVER_TOKEN: '0123456789abcdef0123' })).toBe('0123456789abcdef0123');
  });

  test.each(['short', 'has a space in it here'])('%j is refused, saying how to make one', (token) => {
    expect(() => modelServerToken({ MODEL_SERVER_TOKEN: token })).toThrow(UserError);
    expect(() => modelServerToken({ MODEL_SERVER_TOKEN: token })).toThrow(/at least 16 characters and no spaces, e.g. \$\(openssl rand -hex 24\)/);
  });
});

test.each([['127.0.0.1', true], ['localhost', true], ['::1', true], ['0.0.0.0', false], ['192.168.1.4', false]])('isLoopback(%s) is %s', (host, loopback) => {
  expect(isLoopback(host)).toBe(loopback);
});
