/**
 * Variable substitution as `clusterctl generate cluster` does it on provider templates
 * (drone/envsubst): `${NAME}`, `${NAME:-default}` and `${NAME-default}`, `${NAME:=default}` and
 * `${NAME=default}`, `${NAME:offset}` and `${NAME:offset:length}`, defaults that hold further
 * `${...}`, and `$$` for a literal `$`. Like clusterctl, a variable with neither a value nor a
 * default is an error naming every such variable, never an empty string. A bare `$NAME` is left
 * as it is (the pinned templates have none).
 */
export class MissingVariablesError extends Error {
  constructor(readonly names: string[]) {
    super(`value for variables [${names.join(', ')}] is not set`);
  }
}

export function substitute(text: string, variables: Readonly<Record<string, string>>): string {
  const missing = new Set<string>();
  const out = expand(text, variables, missing);
  if (missing.size > 0) throw new MissingVariablesError([...missing].sort());
  return out;
}

function expand(text: string, variables: Readonly<Record<string, string>>, missing: Set<string>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (char !== '$') {
      out += char;
      continue;
    }
    if (text[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    if (text[i + 1] !== '{') {
      out += char;
      continue;
    }
    const end = closingBrace(text, i + 2);
    out += evaluate(text.slice(i + 2, end), variables, missing);
    i = end;
  }
  return out;
}

function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let j = from; j < text.length; j++) {
    if (text[j] === '{') depth++;
    else if (text[j] === '}' && --depth === 0) return j;
  }
  throw new Error(`unterminated \${ at offset ${from - 2}: ${text.slice(from - 2, from + 40)}`);
}

interface Expression {
  name: string;
  operator?: ':-' | '-' | ':=' | '=' | ':';
  argument?: string;
}

function parseExpression(body: string): Expression {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(:-|:=|-|=|:)?([\s\S]*)$/.exec(body);
  if (!match) throw new Error(`unsupported variable expression \${${body}}`);
  const [, name, operator, argument] = match;
  if (!operator) {
    if (argument) throw new Error(`unsupported variable expression \${${body}}`);
    return { name: name! };
  }
  return { name: name!, operator: operator as Expression['operator'], argument: argument ?? '' };
}

function evaluate(body: string, variables: Readonly<Record<string, string>>, missing: Set<string>): string {
  const { name, operator, argument } = parseExpression(body);
  const value = Object.hasOwn(variables, name) ? variables[name] : undefined;
  switch (operator) {
    case undefined:
      if (value === undefined) missing.add(name);
      return value ?? '';
    case '-':
    case '=':
      return value ?? expand(argument ?? '', variables, missing);
    case ':-':
    case ':=':
      return value !== undefined && value !== '' ? value : expand(argument ?? '', variables, missing);
    case ':': {
      if (value === undefined) {
        missing.add(name);
        return '';
      }
      const [offset, length] = (argument ?? '').split(':').map((part) => Number.parseInt(part, 10));
      if (offset === undefined || Number.isNaN(offset)) throw new Error(`unsupported variable expression \${${body}}`);
      return length === undefined || Number.isNaN(length) ? value.slice(offset) : value.slice(offset, offset + length);
    }
  }
}
