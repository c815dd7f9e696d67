import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * The published SARIF 2.1.0 JSON schema (OASIS, draft-07, `$id` .../Schemata/sarif-schema-2.1.0.json),
 * taken from a registry package that ships it as a file: Datadog's CI tool validates the SARIF
 * it uploads against it. Only the package's tarball is fetched (`npm pack`, no dependencies),
 * once, into the cache levee's tools use; the schema's digest is pinned.
 */
export const SARIF_SCHEMA_SOURCE = {
  package: '@datadog/datadog-ci',
  version: '2.48.0',
  file: 'package/dist/commands/sarif/json-schema/sarif-schema-2.1.0.json',
  sha256: '10666d46649b52e262001e70d43e6c52f7c0279ca3dbdfe9a7dc2e4071556454',
} as const;

function cacheDir(): string {
  const root = process.env.LEVEE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'levee');
  return join(root, `sarif-schema-${SARIF_SCHEMA_SOURCE.version}`);
}

/** Path of the cached schema, fetched on first use. */
export function sarifSchemaPath(): string {
  const dir = cacheDir();
  const path = join(dir, 'sarif-schema-2.1.0.json');
  if (!existsSync(path)) {
    const work = mkdtempSync(join(tmpdir(), 'levee-sarif-schema-'));
    try {
      const tarball = execFileSync('npm', ['pack', `${SARIF_SCHEMA_SOURCE.package}@${SARIF_SCHEMA_SOURCE.version}`, '--silent', '--pack-destination', work], { encoding: 'utf8' }).trim().split('\n').pop()!;
      execFileSync('tar', ['-xzf', join(work, tarball), '-C', work, SARIF_SCHEMA_SOURCE.file]);
      mkdirSync(dir, { recursive: true });
      renameSync(join(work, SARIF_SCHEMA_SOURCE.file), path);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const digest = createHash('sha256').update(readFileSync(path)).digest('hex');
  if (digest !== SARIF_SCHEMA_SOURCE.sha256) throw new Error(`${path} has sha256 ${digest}, expected ${SARIF_SCHEMA_SOURCE.sha256}; delete it to fetch it again`);
  return path;
}

/** Validates a SARIF document against the published schema; the errors, or [] when it is valid. */
export function sarifSchemaErrors(document: unknown): ErrorObject[] {
  const ajv = new Ajv({ allErrors: true, strict: false });
  // ajv-formats is CommonJS; its default export arrives wrapped under ESM.
  const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;
  addFormats(ajv);
  const validate = ajv.compile(JSON.parse(readFileSync(sarifSchemaPath(), 'utf8')) as object);
  return validate(document) ? [] : (validate.errors ?? []);
}
