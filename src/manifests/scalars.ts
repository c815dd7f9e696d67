/**
 * Scalars as kubectl reads them. kubectl turns YAML into JSON with go-yaml v2 (through
 * sigs.k8s.io/yaml), which follows YAML 1.1: `yes`, `on` and `y` are true, `0755` is octal,
 * `2024-01-02` is a timestamp that becomes an RFC 3339 string. A YAML 1.2 reader would see
 * `unschedulable: yes` as a string and judge a different object than the one applied.
 */

export const YAML_TAG = 'tag:yaml.org,2002:';
const STR_TAG = `${YAML_TAG}str`;
const MERGE_TAG = `${YAML_TAG}merge`;
const INT_TAG = `${YAML_TAG}int`;
const FLOAT_TAG = `${YAML_TAG}float`;
const BOOL_TAG = `${YAML_TAG}bool`;
const NULL_TAG = `${YAML_TAG}null`;
const TIMESTAMP_TAG = `${YAML_TAG}timestamp`;
const BINARY_TAG = `${YAML_TAG}binary`;

/** What a scalar resolves to, before JSON (a timestamp is already the RFC 3339 string JSON gets). */
export type Resolved =
  | { tag: 'str'; value: string }
  | { tag: 'int' | 'float'; value: number }
  | { tag: 'bool'; value: boolean }
  | { tag: 'null'; value: null }
  | { tag: 'timestamp'; value: string }
  | { tag: 'merge'; value: '<<' };

const FIXED = new Map<string, Resolved>();
for (const word of ['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']) FIXED.set(word, { tag: 'bool', value: true });
for (const word of ['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']) FIXED.set(word, { tag: 'bool', value: false });
for (const word of ['', '~', 'null', 'Null', 'NULL']) FIXED.set(word, { tag: 'null', value: null });
for (const word of ['.nan', '.NaN', '.NAN']) FIXED.set(word, { tag: 'float', value: Number.NaN });
for (const word of ['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF']) FIXED.set(word, { tag: 'float', value: Number.POSITIVE_INFINITY });
for (const word of ['-.inf', '-.Inf', '-.INF']) FIXED.set(word, { tag: 'float', value: Number.NEGATIVE_INFINITY });
FIXED.set('<<', { tag: 'merge', value: '<<' });

/** go-yaml's yamlStyleFloat. */
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
/** What Go's strconv.ParseInt(s, 0, 64) accepts once underscores are gone. */
const GO_INTEGER = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
/** The timestamp forms go-yaml v2 tries: date only, date and time (T, t or space), optional fraction and zone. */
const TIMESTAMP = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:([Tt])|[ ])(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?)?$/;

/** Resolves a scalar the way go-yaml v2 does. `plain` is false for quoted and block scalars. */
export function resolveScalar(text: string, plain: boolean, tag: string | undefined): Resolved {
  if (tag === undefined) return plain ? resolveImplicit(text) : { tag: 'str', value: text };
  if (tag === STR_TAG) return { tag: 'str', value: text };
  if (tag === BINARY_TAG) return { tag: 'str', value: Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8') };
  const wanted = STANDARD_TAGS.get(tag);
  // Tags go-yaml does not resolve (custom `!foo`, `!!set`, ...) leave the text as it is.
  if (!wanted) return { tag: 'str', value: text };
  const resolved = resolveImplicit(text, tag === TIMESTAMP_TAG);
  if (resolved.tag === wanted) return resolved;
  if (wanted === 'float' && resolved.tag === 'int') return { tag: 'float', value: resolved.value };
  throw new Error(`cannot decode !!${resolved.tag} \`${text}\` as a !!${wanted}`);
}

const STANDARD_TAGS = new Map<string, Resolved['tag']>([
  [INT_TAG, 'int'],
  [FLOAT_TAG, 'float'],
  [BOOL_TAG, 'bool'],
  [NULL_TAG, 'null'],
  [TIMESTAMP_TAG, 'timestamp'],
  [MERGE_TAG, 'merge'],
]);

function resolveImplicit(text: string, timestampTagged = false): Resolved {
  const fixed = FIXED.get(text);
  if (fixed) return fixed;
  const first = text.charCodeAt(0);
  if (text[0] === '.') {
    return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(text) ? { tag: 'float', value: Number(text) } : { tag: 'str', value: text };
  }
  const digit = first >= 48 && first <= 57;
  if (!digit && text[0] !== '+' && text[0] !== '-') return { tag: 'str', value: text };
  if (digit || timestampTagged) {
    const timestamp = parseTimestamp(text);
    if (timestamp !== undefined) return { tag: 'timestamp', value: timestamp };
  }
  const plain = text.replace(/_/g, '');
  const integer = parseGoInteger(plain);
  if (integer !== undefined) return { tag: 'int', value: integer };
  if (YAML_FLOAT.test(plain)) return { tag: 'float', value: Number(plain) };
  return { tag: 'str', value: text };
}

function parseGoInteger(text: string): number | undefined {
  const match = GO_INTEGER.exec(text);
  if (!match) return undefined;
  const negative = match[1] === '-';
  const digits = match[2]!;
  let magnitude: number;
  const prefix = digits.slice(0, 2).toLowerCase();
  if (prefix === '0x') magnitude = parseInt(digits.slice(2), 16);
  else if (prefix === '0o') magnitude = parseInt(digits.slice(2), 8);
  else if (prefix === '0b') magnitude = parseInt(digits.slice(2), 2);
  else if (digits.length > 1 && digits[0] === '0') magnitude = parseInt(digits, 8);
  else magnitude = Number(digits);
  // Beyond 64 bits Go falls through to a float; a JSON number either way.
  return negative ? -magnitude : magnitude;
}

/** A YAML 1.1 timestamp as Go's time.Time marshals it to JSON (RFC 3339, UTC when no zone is given). */
function parseTimestamp(text: string): string | undefined {
  const match = TIMESTAMP.exec(text);
  if (!match) return undefined;
  const [, year, month, day, tee, hour, minute, second, fraction, zone] = match;
  // go-yaml accepts a lower-case `t` only with a zone, and no zone only with a space.
  if (hour !== undefined && ((tee !== undefined) !== (zone !== undefined))) return undefined;
  const pad = (value: string | undefined): string => (value ?? '0').padStart(2, '0');
  const date = `${year}-${pad(month)}-${pad(day)}`;
  const time = `${pad(hour)}:${pad(minute)}:${pad(second)}`;
  const check = new Date(`${date}T${time}Z`);
  if (Number.isNaN(check.getTime()) || check.toISOString().slice(0, 10) !== date || Number(hour ?? 0) > 23 || Number(minute ?? 0) > 59 || Number(second ?? 0) > 59) {
    return undefined;
  }
  const nanos = (fraction ?? '').slice(0, 9).replace(/0+$/, '');
  return `${date}T${time}${nanos ? `.${nanos}` : ''}${zone === undefined || zone === '+00:00' ? 'Z' : zone}`;
}
