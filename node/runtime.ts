/**
 * The daemon's real-world ports: wall and monotonic clocks with timers, randomness
 * from node:crypto, and a pino logger (JSON lines on stdout; pretty when stdout is a
 * terminal). Secrets never reach the logger: callers log ids and public keys only.
 *
 * @example
 * const logger = createLogger('info'); const clock = realClock()
 */
import nodeCrypto from 'node:crypto'
import { pino, type Logger as Pino } from 'pino'
import type { Clock, Logger, Random } from '../protocol/ports.ts'

export function realClock (): Clock {
  return {
    nowMs: () => Date.now(),
    monotonicMs: () => performance.now(),
    schedule: (delayMs, fn) => {
      const handle = setTimeout(fn, delayMs)
      return () => clearTimeout(handle)
    },
  }
}

/** The system clock with timers that never keep the process alive (for bounds and retries, not work). */
export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  schedule (delayMs, fn) {
    const timer = setTimeout(fn, delayMs)
    timer.unref()
    return () => clearTimeout(timer)
  },
}

export function realRandom (): Random {
  return {
    bytes: (length) => new Uint8Array(nodeCrypto.randomBytes(length)),
    float: () => nodeCrypto.randomInt(2 ** 48) / 2 ** 48,
  }
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error'

/** A pino logger; `pretty` defaults to whether stdout is a terminal. */
export function createLogger (level: LogLevel, pretty: boolean = process.stdout.isTTY === true): Pino {
  if (pretty) {
    return pino({ level, base: undefined, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } })
  }
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime })
}

/** The protocol's Logger port over pino (fields first, message second: the same order). */
export function loggerPort (log: Pino): Logger {
  return {
    debug: (fields, msg) => log.debug(fields, msg),
    info: (fields, msg) => log.info(fields, msg),
    warn: (fields, msg) => log.warn(fields, msg),
    error: (fields, msg) => log.error(fields, msg),
  }
}
