import axios, { type InternalAxiosRequestConfig } from 'axios';
import { INTERNAL_TOKEN_HEADER, serviceTokenSending } from '@zt/service-utils';
import { credentialHeaders, type InternalCredential } from './internal-credential';
import { InternalHeaderRefusedError } from './internal-header-refused.error';

/** How an axios instance adds the internal credential to its calls. */
export interface InternalAxiosOptions {
  /** The credential: the trust kit's configuration, or a provider of headers per call. */
  readonly credential: InternalCredential;
  /**
   * The internal services called through the instance, by origin or by any URL of theirs
   * (`http://127.0.0.1:6004`): only calls to these carry the credential. Default: the origin
   * of the instance's `baseURL`.
   */
  readonly origins?: readonly string[];
}

/** An axios request interceptor, as `instance.interceptors.request.use` takes it. */
export type InternalHeadersInterceptor = (
  config: InternalAxiosRequestConfig,
) => Promise<InternalAxiosRequestConfig>;

/**
 * What the adapter uses of an axios instance: its default `baseURL` and its request
 * interceptors. Any axios 1.x instance fits, whichever of axios's two type declarations
 * (`index.d.ts`, `index.d.cts`) it was typed with: `@nestjs/axios`'s `HttpService.axiosRef`
 * may come with the other one than the app's own `import axios from 'axios'`.
 */
export interface AxiosInstanceLike {
  readonly defaults: { readonly baseURL?: string };
  readonly interceptors: {
    readonly request: {
      use(onFulfilled: InternalHeadersInterceptor): number;
      eject(id: number): void;
    };
  };
}

/**
 * The request interceptor behind {@link installInternalHeaders}, for a team that installs
 * interceptors itself. For each call, by the origin of its full URL:
 * - to an internal origin: adds exactly the credential's headers. A call that already carries
 *   one of them with another value is refused ({@link InternalHeaderRefusedError},
 *   `conflict`); with the same value it is sent once. The call is sent without following
 *   redirects and without a proxy (`maxRedirects: 0`, `proxy: false`): the credential goes to
 *   the origin named and nowhere else;
 * - to any other origin: sent as it is, without the credential; refused (`foreign_origin`)
 *   when it carries an `X-INTERNAL-TOKEN` itself.
 * It reads nothing of the request being served, so nothing incoming is ever passed on.
 */
export function internalHeadersInterceptor(
  options: Required<InternalAxiosOptions>,
): InternalHeadersInterceptor {
  const internal = new Set(options.origins.map(originOf));
  return async (config) => {
    const url = new URL(axios.getUri(config));
    if (!internal.has(url.origin)) {
      if (config.headers.has(INTERNAL_TOKEN_HEADER)) {
        throw new InternalHeaderRefusedError('foreign_origin', INTERNAL_TOKEN_HEADER, url.origin);
      }
      return config;
    }
    const method = (config.method ?? 'get').toUpperCase();
    const headers = await credentialHeaders(options.credential, { url, method });
    for (const [name, value] of Object.entries(headers)) {
      const present: unknown = config.headers.get(name);
      if (present !== undefined && present !== null && present !== value) {
        throw new InternalHeaderRefusedError('conflict', name, url.origin);
      }
      config.headers.set(name, value);
    }
    config.maxRedirects = 0;
    config.proxy = false;
    return config;
  };
}

/**
 * Installs the trust kit's credential on an existing axios instance (one of the team's own,
 * or `HttpService.axiosRef` of `@nestjs/axios`); see {@link internalHeadersInterceptor} for
 * what it does to each call. Install it before the instance's other request interceptors:
 * axios runs the last installed first, so this one then sees each call as it will be sent.
 * @returns a function that uninstalls it.
 * @throws TypeError when the instance has no `baseURL` and no `origins` are given, or an
 *   origin is not an http(s) URL; or when the credential is the kit's configuration in a mode
 *   whose calls carry a service token per callee (`INTERNAL_AUTH_MODE` `token+jwt` or `jwt`,
 *   `INTERNAL_AUTH_SHADOW=jwt`), which a configuration alone cannot give: pass a provider then,
 *   e.g. `(target) => credentials.forCall(audienceOf(target.url)).then((c) => c.headers)`
 *   with the kit's `InternalCallCredentials`.
 */
export function installInternalHeaders(
  instance: AxiosInstanceLike,
  options: InternalAxiosOptions,
): () => void {
  if (
    typeof options.credential !== 'function' &&
    serviceTokenSending(options.credential) !== 'off'
  ) {
    throw new TypeError(
      'installInternalHeaders: this INTERNAL_AUTH_MODE sends a service token per callee: pass a credential provider built on InternalCallCredentials',
    );
  }
  const origins = options.origins ?? [instance.defaults.baseURL].filter((url) => url !== undefined);
  if (origins.length === 0) {
    throw new TypeError(
      'installInternalHeaders: name the internal services (`origins`) or give the instance a `baseURL`',
    );
  }
  const id = instance.interceptors.request.use(
    internalHeadersInterceptor({ credential: options.credential, origins }),
  );
  return () => instance.interceptors.request.eject(id);
}

function originOf(url: string): string {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') {
    throw new TypeError(`installInternalHeaders: "${url}" is not an http(s) URL`);
  }
  return parsed.origin;
}
