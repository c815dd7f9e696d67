/**
 * JSON.parse for large bodies without blocking the event loop. One `JSON.parse` of a review near
 * the body limit, full of small fields (managedFields, long env lists), holds the loop for tens
 * to hundreds of milliseconds, and every other review waits. Here the text is scanned once for
 * its structure, every subtree of at most `sliceBytes` is handed to JSON.parse whole (a few
 * hundred microseconds each), larger containers are assembled from their members, and the
 * parser yields to the event loop every `stepBytes` of work. The result equals JSON.parse's;
 * a text JSON.parse refuses is refused too, with a position.
 */

/** Bodies up to this size are parsed with one JSON.parse call: about a millisecond. */
export const COOPERATIVE_ABOVE_BYTES = 128 * 1024;

/**
 * Deeper nesting is refused: Kubernetes objects nest a few dozen levels at most, and a body of
 * nothing but brackets would otherwise cost a bookkeeping entry per level.
 */
export const MAX_NESTING = 512;

export interface CooperativeOptions {
  /** Subtrees up to this many characters are parsed with one JSON.parse call. */
  sliceBytes?: number;
  /** Work (characters scanned or parsed) between two yields to the event loop. */
  stepBytes?: number;
  /**
   * Object members left out of the result, by their key path from the root ("[]" for any array
   * element): their text is scanned, never turned into objects.
   */
  omit?: readonly (readonly string[])[];
}

interface Member {
  /** The key's span (quotes included), in an object. */
  keyStart: number;
  keyEnd: number;
  start: number;
  end: number;
  /** Set when the member was too large to parse at once and was assembled. */
  built: boolean;
  /** Set when the member is left out (`omit`). */
  omitted?: boolean;
  value?: unknown;
}

interface Open {
  kind: 'object' | 'array';
  start: number;
  members: Member[];
  keyStart: number;
  keyEnd: number;
  /** Its key path, while it is shallow enough to matter to `omit`. */
  path?: string[];
  /** It, or a container around it, is left out: nothing inside is recorded. */
  omitted: boolean;
}

const enum State {
  Value,
  ValueOrEnd,
  Key,
  KeyOrEnd,
  Colon,
  AfterValue,
  Done,
}

const isWhitespace = (code: number): boolean => code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
const isDelimiter = (code: number): boolean => code === 0x2c || code === 0x7d || code === 0x5d || isWhitespace(code);

export async function parseJsonCooperatively(text: string, options: CooperativeOptions = {}): Promise<unknown> {
  const sliceBytes = options.sliceBytes ?? 16 * 1024;
  const stepBytes = options.stepBytes ?? 64 * 1024;
  const omit = options.omit ?? [];
  const omitDepth = Math.max(0, ...omit.map((path) => path.length));
  const omitted = (path: string[]): boolean => omit.some((candidate) => candidate.length === path.length && candidate.every((key, i) => key === '*' || key === path[i]));
  let work = 0;
  const tick = async (bytes: number): Promise<void> => {
    work += bytes;
    if (work < stepBytes) return;
    work = 0;
    await new Promise((resolve) => setImmediate(resolve));
  };
  const fail = (position: number, why = 'Unexpected token'): never => {
    throw new SyntaxError(`${why} in JSON at position ${position}`);
  };
  const parseSlice = (start: number, end: number, wrap = ''): unknown => {
    try {
      return JSON.parse(wrap ? `${wrap[0]}${text.slice(start, end)}${wrap[1]}` : text.slice(start, end));
    } catch (err) {
      const inner = /position (\d+)/.exec((err as Error).message)?.[1];
      return fail(inner === undefined ? start : start + Number(inner) - wrap.length / 2);
    }
  };

  const stack: Open[] = [];
  let root: { start: number; end: number; built: boolean; value?: unknown } | undefined;
  let state = State.Value as State;
  let pos = 0;
  let scanned = pos;

  const complete = (start: number, end: number, built: boolean, value?: unknown, left = false): void => {
    const top = stack[stack.length - 1];
    if (!top) {
      root = { start, end, built, value };
      state = State.Done;
      return;
    }
    if (!top.omitted) top.members.push({ keyStart: top.keyStart, keyEnd: top.keyEnd, start, end, built, value, ...(left ? { omitted: true } : {}) });
    state = State.AfterValue;
  };

  /** A container opening at `pos`: its path (while shallow enough to be omitted), and whether it is. */
  const opening = (kind: Open['kind']): Open => {
    const parent = stack[stack.length - 1];
    const open: Open = { kind, start: pos, members: [], keyStart: 0, keyEnd: 0, omitted: parent?.omitted ?? false };
    if (!open.omitted && omitDepth > 0 && (!parent || parent.path) && stack.length <= omitDepth) {
      const key = !parent ? undefined : parent.kind === 'array' ? '[]' : (parseSlice(parent.keyStart, parent.keyEnd) as string);
      open.path = key === undefined ? [] : [...parent!.path!, key];
      open.omitted = open.path.length > 0 && omitted(open.path);
    }
    return open;
  };

  const close = async (end: number): Promise<void> => {
    const open = stack.pop()!;
    if (open.omitted) {
      complete(open.start, end, false, undefined, true);
      return;
    }
    if (end - open.start <= sliceBytes) {
      complete(open.start, end, false);
      return;
    }
    const container: unknown = open.kind === 'object' ? {} : [];
    let batch: Member[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const first = batch[0]!;
      const last = batch[batch.length - 1]!;
      if (open.kind === 'array') {
        const items = parseSlice(first.start, last.end, '[]') as unknown[];
        for (const item of items) (container as unknown[]).push(item);
      } else {
        const parsed = parseSlice(first.keyStart, last.end, '{}') as Record<string, unknown>;
        for (const key of Object.keys(parsed)) assign(container as Record<string, unknown>, key, parsed[key]);
      }
      await tick(last.end - (open.kind === 'array' ? first.start : first.keyStart));
      batch = [];
    };
    for (const member of open.members) {
      if (member.omitted) {
        await flush();
        continue;
      }
      if (member.built) {
        await flush();
        if (open.kind === 'array') (container as unknown[]).push(member.value);
        else assign(container as Record<string, unknown>, parseSlice(member.keyStart, member.keyEnd) as string, member.value);
        continue;
      }
      const from = open.kind === 'array' ? member.start : member.keyStart;
      if (batch.length > 0 && member.end - (open.kind === 'array' ? batch[0]!.start : batch[0]!.keyStart) > sliceBytes) await flush();
      if (member.end - from > sliceBytes) {
        // One member larger than a slice and not a container: a long string or number.
        await flush();
        const value = parseSlice(member.start, member.end);
        if (open.kind === 'array') (container as unknown[]).push(value);
        else assign(container as Record<string, unknown>, parseSlice(member.keyStart, member.keyEnd) as string, value);
        continue;
      }
      batch.push(member);
    }
    await flush();
    complete(open.start, end, true, container);
  };

  const stringEnd = (start: number): number => {
    let quote = start;
    for (;;) {
      quote = text.indexOf('"', quote + 1);
      if (quote < 0) return fail(start, 'Unterminated string');
      let backslashes = 0;
      while (text.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
      if (backslashes % 2 === 0) return quote + 1;
    }
  };

  while (pos < text.length) {
    if (pos - scanned >= stepBytes) {
      await tick(pos - scanned);
      scanned = pos;
    }
    const code = text.charCodeAt(pos);
    if (isWhitespace(code)) {
      pos++;
      continue;
    }
    switch (state) {
      case State.Done:
        return fail(pos);
      case State.Value:
      case State.ValueOrEnd:
        if (state === State.ValueOrEnd && code === 0x5d) {
          await close(++pos);
          break;
        }
        if (code === 0x7b || code === 0x5b) {
          if (stack.length >= MAX_NESTING) return fail(pos, `Nesting deeper than ${MAX_NESTING} levels`);
          stack.push(opening(code === 0x7b ? 'object' : 'array'));
          state = code === 0x7b ? State.KeyOrEnd : State.ValueOrEnd;
          pos++;
        } else if (code === 0x22) {
          const end = stringEnd(pos);
          complete(pos, end, false);
          pos = end;
        } else {
          const start = pos;
          while (pos < text.length && !isDelimiter(text.charCodeAt(pos))) pos++;
          if (pos === start) return fail(pos);
          complete(start, pos, false);
        }
        break;
      case State.KeyOrEnd:
      case State.Key: {
        if (state === State.KeyOrEnd && code === 0x7d) {
          await close(++pos);
          break;
        }
        if (code !== 0x22) return fail(pos);
        const top = stack[stack.length - 1]!;
        top.keyStart = pos;
        top.keyEnd = stringEnd(pos);
        pos = top.keyEnd;
        state = State.Colon;
        break;
      }
      case State.Colon:
        if (code !== 0x3a) return fail(pos);
        pos++;
        state = State.Value;
        break;
      case State.AfterValue: {
        const top = stack[stack.length - 1]!;
        if (code === 0x2c) {
          state = top.kind === 'object' ? State.Key : State.Value;
          pos++;
        } else if ((code === 0x7d && top.kind === 'object') || (code === 0x5d && top.kind === 'array')) {
          await close(++pos);
        } else {
          return fail(pos);
        }
        break;
      }
    }
  }
  if (!root || stack.length > 0) return fail(text.length, 'Unexpected end of JSON input');
  return root.built ? root.value : parseSlice(root.start, root.end);
}

/** An own property, also for "__proto__", as JSON.parse makes it (a plain assignment would set the prototype). */
function assign(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}
