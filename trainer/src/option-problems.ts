import { distance } from 'fastest-levenshtein';
import type { z } from 'zod';

/**
 * How a problem names an option: `--batch-size`, `trainOptions.batchSize`, `options.json: "epoch"`.
 * With `suggestionFor`, it names `key` as a "did you mean" for that mistyped key, in the same spelling.
 */
export type OptionName = (key: string, suggestionFor?: string) => string;

/**
 * The closest of `candidates` to a mistyped `word`, or undefined when none is close: at most 40% of
 * the word's letters edited (at least one), about the rule commander uses for flags.
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; edits: number } | undefined;
  for (const candidate of candidates) {
    const edits = distance(word.toLowerCase(), candidate.toLowerCase());
    if (!best || edits < best.edits) best = { candidate, edits };
  }
  return best && best.edits <= Math.max(1, Math.floor(word.length * 0.4)) ? best.candidate : undefined;
}

type Issue = z.core.$ZodRawIssue & { schema?: { isInt?: boolean } };

/**
 * zod's default messages in plain words ("must be a whole number of at least 1" rather than
 * "Too small: expected number to be >0"). A message the schema gives itself still wins.
 */
export function plainMessage(issue: Issue): string | undefined {
  const whole = issue.schema?.isInt === true;
  switch (issue.code) {
    case 'invalid_type':
      return {
        int: 'must be a whole number',
        number: 'must be a number',
        boolean: 'must be true or false',
        string: 'must be text',
        array: 'must be a list',
        tuple: 'must be a list',
        object: 'must be an object',
      }[issue.expected as string] ?? `must be of type ${issue.expected}`;
    case 'too_small': {
      if (issue.origin === 'string') return Number(issue.minimum) <= 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      if (issue.origin === 'array') return `must have at least ${issue.minimum} items`;
      const min = Number(issue.minimum);
      if (whole) return `must be a whole number of at least ${issue.inclusive ? min : Math.floor(min) + 1}`;
      return issue.inclusive ? `must be at least ${min}` : `must be more than ${min}`;
    }
    case 'too_big': {
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      if (issue.origin === 'array') return `must have at most ${issue.maximum} items`;
      const max = Number(issue.maximum);
      if (whole) return `must be a whole number of at most ${issue.inclusive ? max : Math.ceil(max) - 1}`;
      return issue.inclusive ? `must be at most ${max}` : `must be less than ${max}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    default:
      return undefined;
  }
}

export interface OptionCheck<T> {
  readonly data?: T;
  /** One line per problem, each starting with the option's name. */
  readonly problems: string[];
}

/**
 * Checks options against a (strict) object schema and says what is wrong in plain words: each
 * problem names the option as the user spelled it, what it accepts and the value given; an unknown
 * option gets a "did you mean" when one is close.
 */
export function checkOptions<S extends z.ZodObject>(schema: S, input: Record<string, unknown>, name: OptionName): OptionCheck<z.infer<S>> {
  const result = schema.safeParse(input, { error: (issue) => plainMessage(issue as Issue) });
  if (result.success) return { data: result.data, problems: [] };
  const known = Object.keys(schema.shape);
  const problems = result.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const near = closestMatch(key, known);
        return `${name(key)}: unknown option${near ? `; did you mean ${name(near, key)}?` : ''}`;
      });
    }
    const key = String(issue.path[0] ?? '');
    const given = key && Object.hasOwn(input, key) ? ` (got ${JSON.stringify(input[key])})` : '';
    return [`${key ? name(key) : 'options'}: ${issue.message}${given}`];
  });
  return { problems };
}
