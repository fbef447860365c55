/**
 * The slice of MLflow's search syntax the tests use: clauses joined by `and`, each
 * `<attribute> <op> <value>` with values quoted ('x', "x", `x`) or numeric.
 * Example: `metrics.loss < 0.5 and params.optimizer = 'adam'`, `name='m' and run_id='abc'`.
 */
export interface Clause {
  readonly field: string;
  readonly op: '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE';
  readonly value: string | number;
}

const CLAUSE = /^\s*([\w.`"-]+)\s*(=|!=|<=|>=|<|>|LIKE)\s*(?:'((?:[^'\\]|\\.)*)'|"([^"]*)"|`([^`]*)`|(-?[\d.eE+-]+))\s*$/i;

export function parseFilter(filter: string | undefined): Clause[] {
  if (!filter || !filter.trim()) return [];
  return filter.split(/\s+and\s+/i).map((part) => {
    const m = CLAUSE.exec(part);
    if (!m) throw new Error(`unsupported filter clause: ${part}`);
    const quoted = m[3] ?? m[4] ?? m[5];
    return {
      field: m[1].replace(/[`"]/g, ''),
      op: m[2].toUpperCase() as Clause['op'],
      value: quoted !== undefined ? quoted.replace(/\\'/g, "'") : Number(m[6]),
    };
  });
}

export function compare(actual: string | number | undefined, clause: Clause): boolean {
  if (actual === undefined) return false;
  const v = clause.value;
  switch (clause.op) {
    case '=':
      return String(actual) === String(v);
    case '!=':
      return String(actual) !== String(v);
    case 'LIKE':
      return new RegExp(`^${String(v).replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*')}$`).test(String(actual));
    default: {
      const a = Number(actual);
      const b = Number(v);
      return clause.op === '<' ? a < b : clause.op === '<=' ? a <= b : clause.op === '>' ? a > b : a >= b;
    }
  }
}
