import { z } from 'zod';
import { SEVERITIES } from '../../probe-verdict.js';

/**
 * Probes of the user's own, declared under `probe.custom` in levee's configuration: an HTTP
 * check, a command the probe container runs, or the report a pod of the user's writes back
 * (a ConfigMap in levee's namespace). Each is judged like a built-in probe: its own deadline
 * and schedule, the shared hysteresis, critical or not.
 */

/** How a custom probe's id is spelled in the verdict, the metrics and Events: never the same as a built-in probe's. */
export const CUSTOM_PREFIX = 'custom:';
export type CustomProbeId = `${typeof CUSTOM_PREFIX}${string}`;

export function customProbeId(name: string): CustomProbeId {
  return `${CUSTOM_PREFIX}${name}`;
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,48}[a-z0-9])?$/;

const httpCheck = z.strictObject({
  /** http:// or https:// URL; redirects are not followed. */
  url: z
    .string()
    .refine((value) => /^https?:\/\/[^/]/i.test(value) && URL.canParse(value), { message: 'must be an http:// or https:// URL' }),
  method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9-]+$/, 'header names are letters, digits and dashes'), z.string().regex(/^[^\r\n\0]*$/, 'a header value is one line'))
    .default({}),
  /** Read at each run and sent as `Authorization: Bearer <token>` (a projected token, a Secret mounted as a file). */
  bearerTokenFile: z.string().min(1).optional(),
  /** PEM CA bundle for an https:// URL signed by a private CA. */
  caFile: z.string().min(1).optional(),
  /** Statuses that pass; by default 200 to 399, as a kubelet's httpGet probe. */
  expectStatus: z.array(z.number().int().min(100).max(599)).min(1).optional(),
  /** The response body (its first 64 KiB) must contain this text. */
  bodyContains: z.string().min(1).optional(),
});

const commandCheck = z.strictObject({
  /** The program and its arguments, run without a shell; exit status 0 passes. */
  argv: z.array(z.string()).min(1).refine((argv) => argv.length === 0 || argv[0] !== '', { message: 'the program (argv[0]) must not be empty' }),
  /** Added to the probe container's environment. */
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment variable names are letters, digits and _'), z.string()).default({}),
  workingDir: z.string().min(1).optional(),
});

const reportCheck = z.strictObject({
  /** ConfigMap in levee's namespace the reporting pod patches: data.ok ("true"/"false"), data.message, data.reportedAt. */
  configMap: z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, 'must be a ConfigMap name'),
  /** A report older than this (by the API server's clock) fails: the reporter has stopped. */
  maxAgeSeconds: z.number().int().min(1).default(300),
});

export const customProbe = z
  .strictObject({
    /** Lower-case letters, digits and dashes; the probe is `custom:<name>` in the verdict. */
    name: z.string().regex(NAME, 'must be lower-case letters, digits and dashes (at most 50), starting and ending with a letter or digit'),
    summary: z.string().min(1).optional(),
    /** A critical probe that fails turns the verdict Unhealthy (closes the gate); otherwise Degraded. */
    critical: z.boolean().default(false),
    /** critical, major or minor (src/probe-verdict.ts SEVERITIES); wins over `critical`. */
    severity: z.enum(SEVERITIES).optional(),
    /** Deadline of one run; defaults to probe.timeoutSeconds. */
    timeoutSeconds: z.number().min(1).max(600).optional(),
    /** Runs this often while passing; defaults to probe.intervalSeconds (rechecks and failing runs follow probe.*). */
    intervalSeconds: z.number().min(1).optional(),
    /** Shown with the failure, e.g. "is the ingress controller running?". */
    hint: z.string().min(1).optional(),
    http: httpCheck.optional(),
    command: commandCheck.optional(),
    report: reportCheck.optional(),
  })
  .superRefine((declaration, context) => {
    const kinds = (['http', 'command', 'report'] as const).filter((kind) => declaration[kind] !== undefined);
    if (kinds.length !== 1) {
      context.addIssue({
        code: 'custom',
        message: `declare exactly one of http, command, report (${kinds.length === 0 ? 'none given' : `${kinds.join(' and ')} given`})`,
      });
    }
  });

export type CustomProbeDeclaration = z.infer<typeof customProbe>;
export type HttpCheck = z.infer<typeof httpCheck>;
export type CommandCheck = z.infer<typeof commandCheck>;
export type ReportCheck = z.infer<typeof reportCheck>;

export const customProbes = z.array(customProbe).superRefine((declarations, context) => {
  const seen = new Set<string>();
  declarations.forEach((declaration, index) => {
    if (typeof declaration?.name !== 'string') return;
    if (seen.has(declaration.name)) context.addIssue({ code: 'custom', path: [index, 'name'], message: `${declaration.name} is declared twice` });
    seen.add(declaration.name);
  });
});
