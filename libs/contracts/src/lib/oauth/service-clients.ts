import type { ServiceAudience, ServiceScope } from './service-scopes';

/**
 * What one service client may get at the token endpoint: for each audience it may call, the
 * scopes it may have there. A client with no audience authenticates but gets no token
 * (`unauthorized_client`).
 */
export interface ServiceClientPolicy {
  /** The client id: the lower-case, dashed name of the service or operator tool. */
  readonly clientId: string;
  /** What the client is, for the docs. */
  readonly description: string;
  readonly audiences: Readonly<Partial<Record<ServiceAudience, readonly ServiceScope[]>>>;
}

/**
 * The service clients and what each may get: versioned configuration, changed by a reviewed
 * commit like code. This is DESIGN section 9's reference policy: the auth server opens
 * accounts and reads stats at billing; the backend reads balances, charges and refunds at
 * billing and reads and writes files as a user; nobody else does any of these. The backend
 * also keeps the user sessions it checks in step with the auth server (the revocation feed,
 * password changes); an operator's tools make invites, read stats at auth and read a user's
 * ledger (none of the actions above), and an operator's metrics scraper reads `/metrics`
 * everywhere. Billing and the filesystem call nobody: they have clients (an identity) and no
 * audience.
 *
 * Secrets are not here: each client's comes from `<CLIENT>_CLIENT_SECRET` (see
 * `clientSecretVariable` in @zt/service-utils).
 */
export const SERVICE_CLIENTS: readonly ServiceClientPolicy[] = [
  {
    clientId: 'auth-server',
    description: 'The auth server: opens billing accounts at registration, reads billing stats',
    audiences: {
      'billing-server': ['billing:accounts.write', 'billing:stats.read'],
    },
  },
  {
    clientId: 'backend',
    description: 'The public API: balances, metered writes, files as a user, sessions',
    audiences: {
      'billing-server': ['billing:balance.read', 'billing:charge', 'billing:refund'],
      'filesystem-server': ['files:read', 'files:write', 'files:act-as-user'],
      'auth-server': ['auth:sessions.read', 'auth:sessions.write'],
    },
  },
  {
    clientId: 'billing-server',
    description: 'The billing server: calls no other service',
    audiences: {},
  },
  {
    clientId: 'filesystem-server',
    description: 'The filesystem server: calls no other service',
    audiences: {},
  },
  {
    clientId: 'operator',
    description:
      "An operator's tools: invites (`npm run invite`) and stats at auth, a user's ledger at billing",
    audiences: {
      'auth-server': ['auth:invites.write', 'auth:stats.read'],
      'billing-server': ['billing:ledger.read'],
    },
  },
  {
    clientId: 'metrics-scraper',
    description: "An operator's Prometheus scraper: GET /metrics of every service",
    audiences: {
      'auth-server': ['metrics:read'],
      'billing-server': ['metrics:read'],
      'filesystem-server': ['metrics:read'],
      backend: ['metrics:read'],
    },
  },
];
