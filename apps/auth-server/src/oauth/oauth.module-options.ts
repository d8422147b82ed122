import type { ServiceAudience } from '@zt/contracts';
import type { ClientSecretDigests } from './client-secret';
import type { ServiceClientPolicy } from '@zt/contracts';

/** What {@link OAuthModule} needs: the auth server's configuration, resolved. */
export interface OAuthModuleOptions {
  /** The tokens' `iss` and the metadata's `issuer`: the auth server's URL. */
  readonly issuer: string;
  readonly tokenTtlSeconds: number;
  readonly keyRotationDays: number;
  /** Where the service-token signing keys are kept. */
  readonly signingKeysFile: string;
  /** The base URL of each service, for `resource`. */
  readonly serviceUrls: Readonly<Record<ServiceAudience, string>>;
  readonly clients: readonly ServiceClientPolicy[];
  /** The digests of each client's secrets, by client id. */
  readonly clientSecrets: ReadonlyMap<string, ClientSecretDigests>;
  /** Service-token requests and revocations per minute per client (0: no limit). */
  readonly clientRequestsPerMinute: number;
  /** The current time (tests freeze it); the system clock when absent. */
  readonly now?: () => Date;
}
