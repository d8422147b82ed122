/** Injection token of the {@link MetricsOptions} given to `MetricsModule.forRoot`. */
export const METRICS_OPTIONS = Symbol('METRICS_OPTIONS');

/** What `MetricsModule.forRoot` needs. */
export interface MetricsOptions {
  /** The service's name, added as the label `service` to every series. */
  readonly serviceName: string;
  /**
   * Also collect Node's process metrics (CPU, memory, event loop lag, GC) under the
   * `process_` and `nodejs_` prefixes. Default `true`.
   */
  readonly processMetrics?: boolean;
}
