import pino, { type Logger } from 'pino';

export type { Logger };

/** One JSON logger; secrets, tokens and certificate material never reach a log line. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'levee' },
      redact: {
        paths: [
          'token',
          '*.token',
          'password',
          '*.password',
          'key',
          '*.key',
          'cert',
          '*.cert',
          'object.data',
          'object.stringData',
          'headers.authorization',
          '*.headers.authorization',
        ],
        censor: '[redacted]',
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
