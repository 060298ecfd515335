import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';
import type { LogFormat } from '../config/config.js';

/**
 * Pretty lines for a person at a terminal, JSON for everything else (a pipe, journald, a log shipper):
 * the format follows where stdout goes unless the operator forced one with --log-format.
 */
export function chooseLogFormat(forced: LogFormat | undefined, stdoutIsTty: boolean): LogFormat {
  return forced ?? (stdoutIsTty ? 'pretty' : 'json');
}

export interface LoggerOptions {
  level: string;
  format: LogFormat;
  /** Where lines go; stdout when absent. */
  destination?: NodeJS.WritableStream;
  /** Colours in pretty lines; on by default only when stdout is a terminal. */
  colorize?: boolean;
}

/**
 * Herald's logger. Pretty printing runs in-process (a pino-pretty stream, not a transport worker): Herald
 * logs a few lines per minute, not per request, so a worker thread would cost more than it saves, and an
 * in-process stream flushes the last lines before `process.exit` on shutdown.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const base = { level: opts.level, base: { service: 'herald' } };
  if (opts.format === 'json') return opts.destination === undefined ? pino(base) : pino(base, opts.destination);
  const pretty = PinoPretty({
    destination: opts.destination ?? 1,
    colorize: opts.colorize ?? process.stdout.isTTY === true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    sync: true,
  });
  return pino(base, pretty);
}
