import { Command, Option } from 'commander';
import type { z } from 'zod';
import { kebab, negatedFlag } from '../config';
import { UserError } from '../user-error';

/**
 * Turns the fields of a zod object schema into commander options, so that the schema stays the
 * one place where options, their defaults and their help text are written down.
 */
interface FieldInfo {
  readonly key: string;
  readonly type: string;
  readonly description: string;
  readonly defaultValue: unknown;
  readonly choices?: readonly string[];
}

type AnySchema = z.ZodType & { def: { type: string; innerType?: AnySchema; defaultValue?: unknown; entries?: Record<string, string> } };

function describeField(key: string, schema: AnySchema): FieldInfo {
  let inner = schema;
  let defaultValue: unknown;
  while (inner.def.type === 'default' || inner.def.type === 'optional') {
    if (inner.def.type === 'default') defaultValue = inner.def.defaultValue;
    inner = inner.def.innerType as AnySchema;
  }
  const choices = inner.def.type === 'enum' ? Object.values(inner.def.entries ?? {}) : undefined;
  return { key, type: inner.def.type, description: schema.description ?? inner.description ?? '', defaultValue, choices };
}

export function schemaFields(schema: z.ZodObject): FieldInfo[] {
  return Object.entries(schema.shape).map(([key, field]) => describeField(key, field as unknown as AnySchema));
}

function parseNumber(flag: string) {
  return (raw: string): number => {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) throw new UserError(`${flag}: '${raw}' is not a number`);
    return value;
  };
}

function parseNumberList(flag: string) {
  return (raw: string): number[] => raw.split(',').map((part) => parseNumber(flag)(part));
}

function helpText(field: FieldInfo): string {
  const shown = Array.isArray(field.defaultValue) ? field.defaultValue.join(',') : field.defaultValue;
  return field.defaultValue === undefined || field.defaultValue === false
    ? field.description
    : `${field.description} (default: ${String(shown)})`;
}

/**
 * Adds one option per schema field. Defaults are left to zod, so a value present came from the user.
 * `hidden` leaves them out of --help.
 */
export function addSchemaOptions(command: Command, schema: z.ZodObject, options: { hidden?: boolean } = {}): Command {
  for (const field of schemaFields(schema)) {
    const flag = `--${kebab(field.key)}`;
    let option: Option;
    let off: Option | undefined;
    if (field.type === 'boolean') {
      option = new Option(flag, helpText(field));
      // On by default: `--no-<flag>` turns it off. Added after `flag`, commander leaves the value
      // unset unless one of the two is typed, so a --config file still decides when neither is.
      if (field.defaultValue === true) off = new Option(negatedFlag(field.key), `turn ${flag} off`);
    } else if (field.type === 'number') {
      option = new Option(`${flag} <n>`, helpText(field)).argParser(parseNumber(flag));
    } else if (field.type === 'tuple') {
      option = new Option(`${flag} <a,b,c>`, helpText(field)).argParser(parseNumberList(flag));
    } else {
      option = new Option(`${flag} <value>`, helpText(field));
      if (field.choices) option = option.choices([...field.choices]);
    }
    for (const added of off ? [option, off] : [option]) command.addOption(options.hidden ? added.hideHelp() : added);
  }
  return command;
}

/** The options the user typed, keyed like the schema (commander camel-cases them the same way). */
export function typedOptions(command: Command, schema: z.ZodObject): Record<string, unknown> {
  const values = command.opts();
  const picked: Record<string, unknown> = {};
  for (const field of schemaFields(schema)) {
    if (values[field.key] !== undefined) picked[field.key] = values[field.key];
  }
  return picked;
}
