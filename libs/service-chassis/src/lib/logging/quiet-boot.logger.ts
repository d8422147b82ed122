import type { LoggerService } from '@nestjs/common';

// Nest's own lines while it boots (modules loaded, routes mapped, "started"): about a hundred
// per service, useful when debugging the wiring, noise otherwise.
const FRAMEWORK_BOOT_CONTEXTS: ReadonlySet<string> = new Set([
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestFactory',
  'NestApplication',
]);

/**
 * The service's logger, with Nest's own boot lines moved from `log` (info) to `debug`, so
 * they show with `LOG_LEVEL=debug` and stay out of the way otherwise. Every other line is
 * passed on unchanged.
 */
export class QuietBootLogger implements LoggerService {
  constructor(private readonly inner: LoggerService) {}

  log(message: unknown, ...params: unknown[]): void {
    const context = params[params.length - 1];
    if (typeof context === 'string' && FRAMEWORK_BOOT_CONTEXTS.has(context) && this.inner.debug) {
      this.inner.debug(message, ...params);
      return;
    }
    this.inner.log(message, ...params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.inner.error(message, ...params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.inner.warn(message, ...params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.inner.debug?.(message, ...params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.inner.verbose?.(message, ...params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    (this.inner.fatal ?? this.inner.error).call(this.inner, message, ...params);
  }
}
