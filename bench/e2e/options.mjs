// The end-to-end bench's command line: how many rounds, how long each chunk, which writer counts
// and how large the second memory reading's cluster is. Read before anything is built or started,
// so a typo costs a message, not a 20-minute run with the defaults.
//
//   --rounds=N      interleaved rounds (1-100)
//   --seconds=S     measured seconds per target, writer count and round (1-3600)
//   --writers=a,b   writer counts (each 1-64, no repeats)
//   --large=N       Services and Pods for the second memory reading (1000-1000000)
//   --apiserver-profiles=DIR
//                   the API server's CPU profile of every measured chunk, written to DIR
//                   (its --profiling turned on: for finding where its time goes, not for the table)

import { resolve } from 'node:path';

export class E2eOptionError extends Error {}

/** Flags the bench's entry point reads itself; they pass through here untouched. */
const PASSED_THROUGH = new Set(['--e2e', '--quick', '--breakdown']);
const PASSED_THROUGH_PREFIXES = ['--node-flags='];

const WRITER_LIMITS = { min: 1, max: 64 };

/** Each option: the key it sets in the overrides, and how its value is read. */
const OPTIONS = {
  rounds: { key: 'rounds', read: (text) => wholeNumber('rounds', text, { min: 1, max: 100 }) },
  seconds: { key: 'seconds', read: (text) => wholeNumber('seconds', text, { min: 1, max: 3600 }) },
  large: { key: 'large', read: (text) => wholeNumber('large', text, { min: 1000, max: 1_000_000 }) },
  writers: { key: 'writers', read: writerCounts },
  'apiserver-profiles': { key: 'apiServerProfiles', read: directory },
};

/** Parses the end-to-end bench's options from argv; throws E2eOptionError, naming the option, on anything it cannot use. */
export function parseE2eOptions(argv) {
  const overrides = {};
  for (const arg of argv) {
    if (PASSED_THROUGH.has(arg) || PASSED_THROUGH_PREFIXES.some((prefix) => arg.startsWith(prefix))) continue;
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const option = match ? Object.hasOwn(OPTIONS, match[1]) && OPTIONS[match[1]] : undefined;
    if (!option) {
      throw new E2eOptionError(
        `unknown option ${arg} (the end-to-end bench takes --rounds=N, --seconds=S, --writers=a,b, --large=N, --apiserver-profiles=DIR, --quick, --breakdown, --node-flags=...)`,
      );
    }
    const name = match[1];
    if (match[2] === undefined) throw new E2eOptionError(`${arg} needs a value: --${name}=...`);
    if (option.key in overrides) throw new E2eOptionError(`--${name} is given more than once`);
    overrides[option.key] = option.read(match[2]);
  }
  return overrides;
}

function directory(text) {
  if (text === '') throw new E2eOptionError('--apiserver-profiles=: expected a directory');
  return resolve(text);
}

function wholeNumber(name, text, { min, max }) {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new E2eOptionError(`--${name}=${text}: expected a whole number from ${min} to ${max}`);
  }
  return value;
}

function writerCounts(text) {
  const counts = text.split(',').map((part) => wholeNumber('writers', part.trim(), WRITER_LIMITS));
  if (new Set(counts).size !== counts.length) throw new E2eOptionError(`--writers=${text}: a writer count is given twice`);
  return counts.sort((a, b) => a - b);
}
