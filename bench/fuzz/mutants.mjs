// A seeded stream of hostile request bodies for levee's review routes: structure-aware
// mutations of real AdmissionReviews (fields deleted, retyped, swapped between kinds, grown
// huge or deep, prototype keys), text-level damage to their JSON, random JSON, random bytes,
// and odd content types. The same seed gives the same stream, so a failure can be replayed.

const ROUTES = ['/validate', '/mutate', '/validate/warn-only'];
const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT', 'PATCH', 'create', ''];
const NEAR_MISSES = [
  '', ' ', '0', '-1', 'null', 'true', 'CREATE', 'UPDATE', 'Deployment', 'Scale', 'scale', 'status', 'apps', 'v1', 'admission.k8s.io/v1beta1',
  'AdmissionReview', 'kube-system', 'levee-system', 'levee.dev/override', 'scale-to-zero', 'v1.12.10', 'v99.0.0', 'spot', 'on-demand', 'x'.repeat(300),
  '\u0000', '\uFFFD', '🙂', '${VAR}', '../../etc/passwd', '__proto__',
  0, -0, 1, -1, 2, 3, 1.5, 1e308, -1e308, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, true, false, null,
  [], [null], [0], [''], {}, { metadata: null }, { metadata: 'x' }, { metadata: { name: 0 } }, { replicas: '0' }, { spec: null },
];
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'text/json', 'text/plain', 'application/x-www-form-urlencoded', '', 'application/json, text/plain'];

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function random(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (items) => items[Math.floor(next() * items.length)],
    chance: (p) => next() < p,
  };
}

const isRecord = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

// Deep enough for every field of a real review; a value the fuzzer nested thousands deep is
// not walked to its bottom.
const MAX_PATH = 12;

function pathsOf(value, prefix = [], out = []) {
  out.push(prefix);
  if (prefix.length >= MAX_PATH) return out;
  if (Array.isArray(value)) value.forEach((child, i) => pathsOf(child, [...prefix, i], out));
  else if (isRecord(value)) for (const [key, child] of Object.entries(value)) pathsOf(child, [...prefix, key], out);
  return out;
}

// Own properties only, and set as own properties: a key such as __proto__ must name a field of
// the JSON, never reach an object's prototype.
const own = (node, key) => node !== null && typeof node === 'object' && Object.prototype.hasOwnProperty.call(node, key);

function at(root, path) {
  return path.reduce((node, key) => (own(node, key) ? node[key] : undefined), root);
}

function setAt(root, path, value) {
  if (path.length === 0) return value;
  const parent = at(root, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object') return root;
  Object.defineProperty(parent, path[path.length - 1], { value, enumerable: true, writable: true, configurable: true });
  return root;
}

function deleteAt(root, path) {
  if (path.length === 0) return null;
  const parent = at(root, path.slice(0, -1));
  const key = path[path.length - 1];
  if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else if (isRecord(parent)) delete parent[key];
  return root;
}

/** A copy: the constants must never end up shared by, or edited through, a review. */
const nearMiss = (rng) => structuredClone(rng.pick(NEAR_MISSES));

function randomJson(rng, depth = 0) {
  const roll = rng.int(depth > 3 ? 4 : 7);
  switch (roll) {
    case 0: return nearMiss(rng);
    case 1: return rng.int(2 ** 31) - 2 ** 30;
    case 2: return String.fromCharCode(...Array.from({ length: rng.int(12) }, () => 32 + rng.int(0x24f)));
    case 3: return rng.chance(0.5);
    case 4: return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
    default: return Object.fromEntries(Array.from({ length: rng.int(5) }, () => [rng.pick(['apiVersion', 'kind', 'request', 'uid', 'object', 'metadata', 'spec', 'operation', 'x', String(rng.int(99))]), randomJson(rng, depth + 1)]));
  }
}

function deep(depth, leaf) {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** One structure-aware change to a review (a fresh copy, edited in place). */
function mutateOnce(rng, root, seeds) {
  const paths = pathsOf(root);
  const path = rng.pick(paths);
  switch (rng.int(9)) {
    case 0:
      return deleteAt(root, path);
    case 1:
      return setAt(root, path, nearMiss(rng));
    case 2: {
      // The right value in the wrong type.
      const value = at(root, path);
      const retyped = typeof value === 'number' ? String(value) : typeof value === 'string' ? (Number(value) || value.length) : Array.isArray(value) ? value[0] ?? null : isRecord(value) ? [value] : String(value);
      return setAt(root, path, retyped);
    }
    case 3: {
      // A field of another kind's review at the same place: confusion across kinds.
      const other = rng.pick(seeds).review;
      const donor = rng.pick(pathsOf(other).filter((p) => p.length > 0 && p.length <= 3));
      if (!donor) return root;
      return setAt(root, donor, structuredClone(at(other, donor)));
    }
    case 4:
      return setAt(root, path, 'A'.repeat(1 + rng.int(rng.chance(0.02) ? 300_000 : 4_000)));
    case 5:
      return setAt(root, path, deep(1 + rng.int(rng.chance(0.2) ? 3_000 : 60), nearMiss(rng)));
    case 6: {
      const node = at(root, path);
      // As own keys, so that they reach the JSON text (an assignment to __proto__ would not).
      if (isRecord(node)) {
        const key = rng.pick(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty']);
        Object.defineProperty(node, key, { value: rng.chance(0.5) ? { polluted: true, allowed: true } : 'x', enumerable: true, writable: true, configurable: true });
      }
      return root;
    }
    case 7:
      return setAt(root, ['request', 'operation'], rng.pick(OPERATIONS));
    default:
      return setAt(root, path, randomJson(rng));
  }
}

function damageText(rng, text) {
  switch (rng.int(6)) {
    case 0: return text.slice(0, rng.int(text.length));
    case 1: {
      const i = rng.int(text.length);
      return text.slice(0, i) + String.fromCharCode(rng.int(0x10000)) + text.slice(i + 1);
    }
    case 2: {
      const i = rng.int(text.length);
      return text.slice(0, i) + rng.pick(['{', '}', '[', ']', '"', ',', ':', '\\', '\u0000', '\\u0000', '"uid":"dup",']) + text.slice(i);
    }
    case 3: return `${text}${rng.pick(['', ' ', '}', ']', 'null', '\n{"x":1}', '\u0000'])}`;
    case 4: return `\uFEFF${text}`;
    default: return text.replace(/"uid":"[^"]*"/, `"uid":"a","uid":${rng.pick(['""', 'null', '0', '"b"'])}`);
  }
}

/**
 * The stream: `next()` gives `{ strategy, path, bytes, headers, freshConnection }`.
 * @param {Array<{path: string, review: unknown}>} seeds
 */
export function mutants(seeds, seed) {
  const rng = random(seed);
  let n = 0;
  const body = (strategy, path, text, contentType = 'application/json') => ({
    strategy,
    path,
    bytes: Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'),
    headers: contentType === '' ? {} : { 'content-type': contentType },
    freshConnection: rng.chance(0.02),
  });
  return {
    next() {
      n++;
      const seedReview = rng.pick(seeds);
      const path = rng.chance(0.9) ? seedReview.path : rng.pick(ROUTES);
      const fresh = structuredClone(seedReview.review);
      fresh.request.uid = `fuzz-${seed}-${n}`;
      const roll = rng.next();
      if (roll < 0.08) return body('seed', path, JSON.stringify(fresh));
      if (roll < 0.62) {
        let mutated = fresh;
        const changes = 1 + rng.int(4);
        for (let i = 0; i < changes; i++) mutated = mutateOnce(rng, mutated, seeds);
        let text;
        try {
          text = JSON.stringify(mutated) ?? 'null';
        } catch {
          // Should not happen (every inserted value is fresh); if a mutation ever made the value
          // contain itself, the seed goes instead.
          const seedCopy = structuredClone(seedReview.review);
          seedCopy.request.uid = `fuzz-${seed}-${n}`;
          text = JSON.stringify(seedCopy);
        }
        return body('mutated review', path, text);
      }
      if (roll < 0.77) return body('damaged JSON', path, damageText(rng, JSON.stringify(fresh)));
      if (roll < 0.87) return body('random JSON', path, JSON.stringify(randomJson(rng)) ?? 'null');
      if (roll < 0.95) return body('random bytes', path, Buffer.from(Array.from({ length: rng.int(4096) }, () => rng.int(256))));
      return body('odd content type', path, rng.chance(0.5) ? JSON.stringify(fresh) : '', rng.pick(CONTENT_TYPES));
    },
  };
}
