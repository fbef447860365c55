import { Command } from 'commander';
import { z } from 'zod';
import { addSchemaOptions, typedOptions } from '../../../trainer/src/cli/schema-options';

const Schema = z.object({
  augment: z.boolean().default(true).describe('random flips'),
  freezeBase: z.boolean().default(false).describe('freeze the base'),
});

function parse(args: string[]) {
  const command = addSchemaOptions(new Command().exitOverride(), Schema);
  command.parse(args, { from: 'user' });
  return { options: typedOptions(command, Schema), help: command.helpInformation() };
}

describe('boolean options', () => {
  test('one that is on by default is turned off with --no-<flag>, and left unset when neither is typed', () => {
    expect(parse(['--no-augment']).options).toEqual({ augment: false });
    expect(parse(['--augment']).options).toEqual({ augment: true });
    // Unset, so a --config file's value still applies, and zod's default when there is none.
    expect(parse([]).options).toEqual({});
  });

  test('--help shows the default and the way to turn it off; one that is off by default has no --no- flag', () => {
    const { help } = parse([]);
    expect(help).toContain('--augment');
    expect(help).toMatch(/random flips \(default: true\)/);
    expect(help).toMatch(/--no-augment\s+turn --augment off/);
    expect(help).not.toContain('--no-freeze-base');
    expect(() => parse(['--no-freeze-base'])).toThrow(/unknown option/);
  });
});
