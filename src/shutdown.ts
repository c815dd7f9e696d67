import type { Logger } from './logger.js';

/** Resolves once SIGTERM or SIGINT has come and `running` has closed: how `serve` and `probe` end. */
export function closeOnSignal(running: { close(): Promise<void> }, logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'shutting down');
      void running.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
