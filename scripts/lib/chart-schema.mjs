// The Helm chart's values.schema.json: the chart's own values, and under `config` levee's
// configuration schema converted from the zod schema that `levee serve --config` validates
// with, so `helm install` refuses what levee would refuse at start, naming the key.
//
//   node scripts/lib/chart-schema.mjs    rewrite charts/levee/values.schema.json (after npm run build)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './run.mjs';

export const SCHEMA_PATH = join(repoRoot, 'charts', 'levee', 'values.schema.json');

const resources = {
  type: 'object',
  additionalProperties: false,
  properties: {
    requests: { type: 'object', additionalProperties: { type: ['string', 'number'] } },
    limits: { type: 'object', additionalProperties: { type: ['string', 'number'] } },
  },
};
const labels = { type: 'object', additionalProperties: { type: 'string' } };
const selector = {
  type: 'object',
  additionalProperties: false,
  properties: {
    matchLabels: labels,
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        additionalProperties: false,
        properties: { key: { type: 'string' }, operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }, values: { type: 'array', items: { type: 'string' } } },
      },
    },
  },
};
const webhook = {
  type: 'object',
  additionalProperties: false,
  properties: {
    failurePolicy: { enum: ['Fail', 'Ignore'] },
    timeoutSeconds: { type: 'integer', minimum: 1, maximum: 30 },
    namespaceSelector: selector,
    objectSelector: selector,
  },
};
const enabled = (extra = {}) => ({ type: 'object', additionalProperties: false, properties: { enabled: { type: 'boolean' }, ...extra } });

/** The whole values schema, with levee's configuration schema (as written in a file) under `config`. */
export async function chartValuesSchema() {
  const { z } = await import('zod');
  const { configFileSchema } = await import(pathToFileURL(join(repoRoot, 'dist', 'src', 'config.js')).href);
  const { NAMESPACE_NAME_PATTERN } = await import(pathToFileURL(join(repoRoot, 'dist', 'src', 'kube', 'name-syntax.js')).href);
  const config = z.toJSONSchema(configFileSchema, { io: 'input', target: 'draft-7', unrepresentable: 'throw' });
  delete config.$schema;
  // levee fills in its own defaults (some depend on where it is installed); helm ignores them.
  withoutDefaults(config);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'levee chart values',
    type: 'object',
    additionalProperties: false,
    properties: {
      global: { type: 'object' },
      nameOverride: { type: 'string' },
      fullnameOverride: { type: 'string' },
      image: {
        type: 'object',
        additionalProperties: false,
        required: ['repository'],
        properties: {
          repository: { type: 'string', minLength: 1 },
          tag: { type: 'string' },
          digest: { type: 'string', pattern: '^(sha256:[a-f0-9]{64})?$' },
          pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
        },
      },
      imagePullSecrets: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
      replicas: { type: 'integer', minimum: 1 },
      serve: { type: 'object', additionalProperties: false, properties: { resources } },
      probe: { type: 'object', additionalProperties: false, properties: { resources } },
      podAnnotations: labels,
      nodeSelector: labels,
      tolerations: { type: 'array', items: { type: 'object' } },
      priorityClassName: { type: 'string' },
      config,
      admission: {
        type: 'object',
        additionalProperties: false,
        properties: {
          url: { type: 'string', pattern: '^(https://.+)?$' },
          excludeNamespaces: { type: 'array', items: { type: 'string', pattern: NAMESPACE_NAME_PATTERN.source } },
          webhooks: {
            type: 'object',
            additionalProperties: false,
            properties: Object.fromEntries(['validate', 'validate-nodes', 'validate-pods', 'validate-kube-system', 'validate-levee-annotations', 'validate-kube-system-annotations', 'mutate', 'mutate-nodes', 'mutate-pods'].map((name) => [name, webhook])),
          },
        },
      },
      certificates: {
        type: 'object',
        additionalProperties: false,
        properties: {
          source: { enum: ['self', 'cert-manager', 'provided'] },
          certManager: {
            type: 'object',
            additionalProperties: false,
            properties: {
              issuerRef: { type: 'object', properties: { kind: { type: 'string' }, name: { type: 'string' }, group: { type: 'string' } } },
              duration: { type: 'string' },
              renewBefore: { type: 'string' },
            },
          },
          provided: { type: 'object', additionalProperties: false, properties: { secretName: { type: 'string' }, caBundle: { type: 'string' } } },
        },
      },
      crds: { type: 'object', additionalProperties: false, properties: { install: { type: 'boolean' } } },
      reports: { type: 'object', additionalProperties: false, properties: { installCrds: { type: 'boolean' } } },
      monitoring: enabled({
        labels,
        podMonitor: enabled({ interval: { type: 'string', pattern: '^[0-9]+(ms|s|m|h)$' }, scrapeFrom: { type: 'array', items: { type: 'object' } } }),
        prometheusRule: enabled(),
        dashboard: enabled({ labels, namespace: { type: 'string' } }),
      }),
    },
  };
}

function withoutDefaults(node) {
  if (Array.isArray(node)) node.forEach(withoutDefaults);
  else if (node && typeof node === 'object') {
    delete node.default;
    Object.values(node).forEach(withoutDefaults);
  }
}

export function renderSchema(schema) {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(SCHEMA_PATH, renderSchema(await chartValuesSchema()));
  process.stderr.write(`levee: wrote ${SCHEMA_PATH}\n`);
}
