/**
 * A configuration value is missing or unacceptable. The message names the variable and
 * never contains its value, so it is safe to print as the service's single start-up error line.
 */
export class ConfigError extends Error {
  /** Stable machine code, in the style of jose's `ERR_*` codes. */
  readonly code = 'ERR_CONFIG';

  constructor(
    /** The environment variable at fault, e.g. `INTERNAL_SERVICE_TOKEN`. */
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}
