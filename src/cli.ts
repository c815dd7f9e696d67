import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { buildConfig, configFromEnvironment, readConfigFile, type ConfigInput } from './config.js';
import { DEFAULT_MAX_BYTES } from './audit/limits.js';
import { LeveeError } from './errors.js';
import { createLogger } from './logger.js';
import type { ProbeFlags } from './probe/command.js';
import { closeOnSignal } from './shutdown.js';

interface ServeFlags {
  config?: string;
  kubeconfig?: string;
  port?: number;
  host?: string;
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  clientName: string[];
  bundle?: string;
  logLevel?: string;
  verdictFile?: string;
  probePort?: number;
}

interface AuditFlags {
  filename: string[];
  cluster?: boolean;
  namespace: string;
  output: string;
  config?: string;
  kubeconfig?: string;
  bundle?: string;
  maxBytes?: number;
}

interface CertsFlags {
  dns: string[];
  ip: string[];
  out: string;
  days: number;
  client?: string;
}

/** Errors that mean "you asked wrongly or gave broken input": exit 2, as `levee audit` documents. */
const USAGE_OR_INPUT_ERRORS = new Set(['CERTS_INVALID_ARGUMENT', 'AUDIT_USAGE', 'AUDIT_INPUT_TOO_LARGE', 'MANIFEST_INVALID', 'CONFIG_INVALID', 'CONFIG_UNREADABLE', 'KUBECONFIG_MISSING']);

/** One line on a terminal, rewritten in place. */
function progressLine(line: string): void {
  process.stderr.write(`\r\u001b[K${line}`);
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];
/** A byte count: a whole number, optionally with Ki, Mi or Gi. */
const bytes = (value: string): number => {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`not a byte count (e.g. 67108864 or 64Mi): ${value}`);
  return Number(match[1]) * { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[match[2] ?? '']!;
};
const integer = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError(`not a whole number: ${value}`);
  return parsed;
};

/** Entry point of the `levee` binary; returns the process exit code (0 ok, 1 failure, 2 usage). */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  /** What a failure exits with: 1 by default; `levee audit` keeps 1 for deny-level findings, so its failures are 2. */
  let failureExitCode = 1;
  const program = new Command('levee')
    .description('Kubernetes admission guard against version skew, scale to zero, all-spot capacity and deploys into a sick cluster')
    .exitOverride()
    .showHelpAfterError();

  program
    .command('serve')
    .description('run the admission webhook (HTTPS, /validate and /mutate)')
    .option('--config <file>', 'YAML/JSON configuration file (default: $LEVEE_CONFIG)')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, then in-cluster)')
    .option('--port <port>', 'HTTPS port (default 8443)', integer)
    .option('--host <address>', 'address to listen on (default 0.0.0.0)')
    .option('--tls-cert <file>', 'serving certificate (PEM), reloaded when it changes')
    .option('--tls-key <file>', 'serving key (PEM), reloaded when it changes')
    .option('--client-ca <file>', 'mTLS: answer reviews only from client certificates this CA bundle (PEM) signed, e.g. the API server\'s')
    .option('--client-name <name>', 'mTLS: the client certificate\'s CN or DNS/URI SAN must be this (repeatable)', collect, [])
    .option('--bundle <file>', "compiled policy bundle (default: the one in levee's package)")
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace')
    .option('--verdict-file <file>', 'probe verdict written by `levee probe` (default /var/run/levee/verdict.json)')
    .option('--probe-port <port>', "port of the probe sidecar's on-demand endpoint on 127.0.0.1, asked for a run after each platform change (default 8081)", integer)
    .action(async (flags: ServeFlags) => {
      const environment = configFromEnvironment();
      const file = flags.config ?? environment.configFile;
      const flagLayer: ConfigInput = {
        server: {
          ...(flags.port !== undefined ? { port: flags.port } : {}),
          ...(flags.host ? { host: flags.host } : {}),
          ...(flags.tlsCert ? { tlsCertFile: flags.tlsCert } : {}),
          ...(flags.tlsKey ? { tlsKeyFile: flags.tlsKey } : {}),
          ...(flags.clientCa ? { clientCAFile: flags.clientCa } : {}),
          ...(flags.clientName.length > 0 ? { clientNames: flags.clientName } : {}),
        },
        ...(flags.bundle ? { bundlePath: flags.bundle } : {}),
        ...(flags.logLevel ? { logLevel: flags.logLevel as 'info' } : {}),
        ...((flags.kubeconfig ?? environment.kubeconfig) ? { kubeconfig: flags.kubeconfig ?? environment.kubeconfig } : {}),
        ...(flags.verdictFile || flags.probePort !== undefined
          ? { probe: { ...(flags.verdictFile ? { verdictFile: flags.verdictFile } : {}), ...(flags.probePort !== undefined ? { httpPort: flags.probePort } : {}) } }
          : {}),
      };
      const config = buildConfig(file ? readConfigFile(file) : {}, flagLayer);
      const logger = createLogger(config.logLevel);
      // Loaded on demand, like the other commands': `levee audit` needs none of the server.
      const { serve } = await import('./server/serve.js');
      await closeOnSignal(await serve({ config, logger }), logger);
    });

  program
    .command('probe')
    .description('run the black-box probes (sidecar loop), write the verdict for serve; --once prints one verdict as JSON')
    .option('--config <file>', 'YAML/JSON configuration file (default: $LEVEE_CONFIG)')
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, then in-cluster)')
    .option('--once', 'run every probe once, print the verdict as JSON, exit 1 when Unhealthy')
    .option('--interval <seconds>', 'seconds between scheduled runs (default 30)', integer)
    .option('--verdict-file <file>', 'where to write the verdict (default /var/run/levee/verdict.json)')
    .option('--http-port <port>', 'port of the on-demand endpoint on 127.0.0.1 (default 8081; 0 picks one)', integer)
    .option('--tls-cert <file>', "levee's serving certificate, whose expiry is inspected")
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace')
    .option('--context <name>', 'fleet: probe the cluster of this kubeconfig context (repeatable; with --hub-context)', collect, [])
    .option('--hub-context <name>', "fleet: publish each context's ProbeVerdict into this context's cluster")
    .action(async (flags: ProbeFlags) => {
      const { runProbeCommand } = await import('./probe/command.js');
      exitCode = await runProbeCommand(flags);
    });

  program
    .command('audit')
    .description("judge manifests as if applied (-f), or the live cluster (--cluster), with the webhook's policies; exit 0 clean, 1 deny-level findings, 2 input or levee failed")
    .option('-f, --filename <path>', 'file, directory (recursive) or - for stdin; repeatable', collect, [])
    .option('--cluster', 'use the live cluster: -f objects are judged as updates of the live ones; without -f, scan what is there')
    .option('-n, --namespace <namespace>', 'namespace for namespaced objects that name none', 'default')
    .option('-o, --output <format>', 'table | json | junit | sarif', 'table')
    .option('--max-bytes <bytes>', `most input read in one run, all files and stdin together (default ${DEFAULT_MAX_BYTES}, 64Mi)`, bytes)
    .option('--config <file>', 'YAML/JSON configuration file (default: $LEVEE_CONFIG)')
    .option('--kubeconfig <file>', 'kubeconfig for --cluster (default: $KUBECONFIG, then in-cluster)')
    .option('--bundle <file>', "compiled policy bundle (default: the one in levee's package)")
    .action(async (flags: AuditFlags) => {
      failureExitCode = 2;
      const { OUTPUTS, runAudit } = await import('./audit/command.js');
      if (!(OUTPUTS as readonly string[]).includes(flags.output)) {
        throw new LeveeError('AUDIT_USAGE', `--output must be one of ${OUTPUTS.join(', ')}, got ${flags.output}`);
      }
      const environment = configFromEnvironment();
      const file = flags.config ?? environment.configFile;
      const kubeconfig = flags.kubeconfig ?? environment.kubeconfig;
      const config = buildConfig(file ? readConfigFile(file) : {}, {
        ...(flags.bundle ? { bundlePath: flags.bundle } : {}),
        ...(kubeconfig ? { kubeconfig } : {}),
      });
      const logger = createLogger('warn', process.stderr);
      const result = await runAudit(
        {
          files: flags.filename,
          cluster: flags.cluster === true,
          namespace: flags.namespace,
          output: flags.output as (typeof OUTPUTS)[number],
          colour: process.stdout.isTTY === true && !environment.noColour,
          ...(flags.maxBytes !== undefined ? { maxBytes: flags.maxBytes } : {}),
          ...(process.stderr.isTTY ? { progress: progressLine } : {}),
        },
        config,
        logger,
      );
      if (process.stderr.isTTY) process.stderr.write('\r\u001b[K');
      process.stdout.write(result.text);
      for (const line of result.diagnostics) process.stderr.write(`levee: ${line}\n`);
      exitCode = result.exitCode;
    });

  program
    .command('webhook-condition')
    .description("print the patch that gives /mutate's webhook registration the condition levee's configuration needs (which workloads are critical)")
    .option('--config <file>', 'YAML/JSON configuration file, as serve is given (default: $LEVEE_CONFIG)')
    .option('--name <name>', 'the MutatingWebhookConfiguration', 'levee')
    .action(async (flags: { config?: string; name: string }) => {
      const file = flags.config ?? configFromEnvironment().configFile;
      const config = buildConfig(file ? readConfigFile(file) : {});
      const { mutateCondition, mutateConditionPatch } = await import('./policies/mutate-condition.js');
      const { stringify } = await import('yaml');
      process.stdout.write(stringify(mutateConditionPatch(flags.name, mutateCondition(config.policies['spot-capacity'])), { lineWidth: 0 }));
    });

  program
    .command('certs')
    .description('make a dev CA and a serving certificate; prints the caBundle for a webhook configuration')
    .option('--dns <name>', 'DNS name for the certificate (repeatable)', collect, [])
    .option('--ip <address>', 'IP address for the certificate (repeatable)', collect, [])
    .option('--out <dir>', 'directory for ca.crt, tls.crt, tls.key', 'certs')
    .option('--days <days>', 'validity in days', integer, 365)
    .option('--client <name>', 'also a client certificate with this common name (client.crt, client.key), for the API server to present to levee')
    .action(async (flags: CertsFlags) => {
      const { generateCerts, writeCerts } = await import('./certs/generate.js');
      const certs = await generateCerts({ dnsNames: flags.dns, ipAddresses: flags.ip, validDays: flags.days, ...(flags.client !== undefined ? { clientName: flags.client } : {}) });
      const files = writeCerts(flags.out, certs);
      const written = [files.caFile, files.certFile, files.keyFile, files.clientCertFile, files.clientKeyFile].filter(Boolean);
      process.stderr.write(`levee: wrote ${written.join(', ')}\n`);
      process.stdout.write(`${certs.caBundle}\n`);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      exitCode = err.exitCode === 0 ? 0 : 2;
    } else if (err instanceof LeveeError) {
      process.stderr.write(`levee: ${err.message} [${err.code}]\n`);
      exitCode = USAGE_OR_INPUT_ERRORS.has(err.code) ? 2 : failureExitCode;
    } else {
      process.stderr.write(`levee: ${(err as Error)?.stack ?? String(err)}\n`);
      exitCode = failureExitCode;
    }
  }
  return exitCode;
}
