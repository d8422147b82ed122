import axios, { type AxiosInstance, type CreateAxiosDefaults } from 'axios';
import type { InternalCredential } from './internal-credential';
import { installInternalHeaders } from './internal-headers.interceptor';

/** What {@link createInternalAxios} needs. */
export interface CreateInternalAxiosOptions {
  /**
   * The internal service this instance calls, e.g. `http://127.0.0.1:6004` (from
   * `BILLING_SERVER_URL`): the credential goes to its origin only.
   */
  readonly baseURL: string;
  /** Deadline of each call in milliseconds (axios's `timeout`, which is none by default). */
  readonly timeoutMs: number;
  /** The credential: the trust kit's configuration, or a provider of headers per call. */
  readonly credential: InternalCredential;
  /** Further axios settings (headers, agents, ...), except those set from the options above. */
  readonly axios?: Omit<CreateAxiosDefaults, 'baseURL' | 'timeout' | 'maxRedirects' | 'proxy'>;
}

/**
 * A new axios instance for calls to one internal service: its `baseURL`, a timeout on every
 * call, no redirects followed and no proxy (`HTTP_PROXY` is ignored), and the trust kit's
 * credential added to each call by {@link installInternalHeaders}.
 */
export function createInternalAxios(options: CreateInternalAxiosOptions): AxiosInstance {
  const instance = axios.create({
    ...options.axios,
    baseURL: options.baseURL,
    timeout: options.timeoutMs,
    maxRedirects: 0,
    proxy: false,
  });
  installInternalHeaders(instance, { credential: options.credential, origins: [options.baseURL] });
  return instance;
}
