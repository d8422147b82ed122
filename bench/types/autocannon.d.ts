// The part of autocannon 9 the bench uses (the package ships no types, and @types/autocannon
// would be one more dependency for four options and one event).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    /** A request as autocannon sends it; `setupRequest` may return a changed copy. */
    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
    }

    interface Options {
      url: string;
      method?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      connections?: number;
      /** Seconds. */
      duration?: number;
      pipelining?: number;
      /** Seconds. */
      timeout?: number;
      /** Milliseconds between samples. */
      sampleInt?: number;
      requests?: Array<{ setupRequest?: (request: Request) => Request }>;
    }

    /** The fields of the final result the bench reads. */
    interface Result {
      /** Seconds. */
      duration: number;
      errors: number;
      timeouts: number;
    }

    interface Instance extends EventEmitter, PromiseLike<Result> {
      on(
        event: 'response',
        listener: (
          client: unknown,
          statusCode: number,
          resBytes: number,
          responseTime: number,
        ) => void,
      ): this;
    }
  }

  function autocannon(options: autocannon.Options): autocannon.Instance;
  export = autocannon;
}
