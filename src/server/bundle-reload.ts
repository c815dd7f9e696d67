import { unwatchFile, watchFile } from 'node:fs';
import { readBundle, type PolicyBundle } from '../engine/bundle.js';
import { PolicyEvaluator } from '../engine/evaluator.js';
import { toError } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * Follows the policy bundle file: when it changes, the new bundle is read, loaded and checked
 * completely before `onLoaded` swaps it in, so requests see the old evaluator or the new one,
 * never a half-loaded one. A bundle that does not load (half-copied, corrupt, calling a builtin
 * the host lacks) is ignored with a log line and the last good one stays in use.
 */
export function watchBundle(options: {
  path: string;
  current: PolicyBundle;
  data: unknown;
  logger: Logger;
  onLoaded: (evaluator: PolicyEvaluator, bundle: PolicyBundle) => void;
  intervalMs?: number;
}): () => void {
  const { path, data, logger, onLoaded } = options;
  let digest = options.current.digest;
  let loading = false;
  let again = false;

  const reload = async (): Promise<void> => {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      do {
        again = false;
        await loadOnce();
      } while (again);
    } finally {
      loading = false;
    }
  };

  const loadOnce = async (): Promise<void> => {
    let bundle: PolicyBundle;
    try {
      bundle = readBundle(path);
      if (bundle.digest === digest) return;
      const evaluator = await PolicyEvaluator.load(bundle, data);
      const previous = digest;
      digest = bundle.digest;
      onLoaded(evaluator, bundle);
      logger.info({ bundle: path, digest: bundle.digest, previous }, 'policy bundle reloaded');
    } catch (err) {
      const error = toError(err);
      logger.warn({ bundle: path, code: error.code, err: error.message, digest }, 'policy bundle not reloaded; keeping the last good one');
    }
  };

  const onChange = (): void => void reload();
  // Polling, like the TLS files: it survives the symlink swaps of ConfigMap and Secret volumes.
  watchFile(path, { interval: options.intervalMs ?? 1000, persistent: false }, onChange);
  return () => unwatchFile(path, onChange);
}
