import type { LeveeConfig } from '../../config.js';
import type { ProbeDefinition } from '../types.js';
import { runCommandCheck } from './command-check.js';
import { runHttpCheck } from './http-check.js';
import { readReport } from './report-check.js';
import { customProbeId, type CustomProbeDeclaration } from './settings.js';

/** The probes declared under `probe.custom`, in the order declared, as the loop runs built-in ones. */
export function customProbeDefinitions(config: LeveeConfig): ProbeDefinition[] {
  return config.probe.custom.map(definitionOf);
}

function definitionOf(declaration: CustomProbeDeclaration): ProbeDefinition {
  const { http, command, report } = declaration;
  const summary = declaration.summary ?? (http ? `${http.method} ${http.url}` : command ? command.argv.join(' ') : `report in ConfigMap ${report!.configMap}`);
  return {
    id: customProbeId(declaration.name),
    summary,
    ...(declaration.timeoutSeconds !== undefined ? { timeoutSeconds: () => declaration.timeoutSeconds! } : {}),
    ...(declaration.intervalSeconds !== undefined ? { intervalSeconds: () => declaration.intervalSeconds! } : {}),
    hint: (outcome) => (outcome.ok ? undefined : declaration.hint),
    run: ({ api, config, now, signal }) => {
      if (http) return runHttpCheck(http, signal);
      if (command) return runCommandCheck(command, signal);
      return readReport(report!, api, config.leveeNamespace, now(), signal);
    },
  };
}
