// The services that may be the audience of a service token, and the scopes each one knows
// (DESIGN section 9). A scope names an action of its audience; which client may have which
// scope is the auth server's policy (apps/auth-server/src/oauth/clients.policy.ts).

/** Every service a service token may be issued for (its `aud`), by the service's name. */
export const SERVICE_AUDIENCES = [
  'auth-server',
  'billing-server',
  'filesystem-server',
  'backend',
] as const;

/** A service a service token may be issued for. */
export type ServiceAudience = (typeof SERVICE_AUDIENCES)[number];

/**
 * The scopes of each audience. `metrics:read` is known to every service (each serves
 * `GET /metrics`). `auth:sessions.read` and `auth:sessions.write` are not among DESIGN section
 * 9's names: they cover the revocation feed and the password change that the backend calls at
 * the auth server today (docs/decisions.md, "Service tokens").
 */
export const SCOPES_BY_AUDIENCE = {
  'auth-server': [
    'auth:invites.write',
    'auth:stats.read',
    'auth:sessions.read',
    'auth:sessions.write',
    'metrics:read',
  ],
  'billing-server': [
    'billing:accounts.write',
    'billing:balance.read',
    'billing:charge',
    'billing:refund',
    'billing:ledger.read',
    'billing:stats.read',
    'metrics:read',
  ],
  'filesystem-server': ['files:read', 'files:write', 'files:act-as-user', 'metrics:read'],
  backend: ['metrics:read'],
} as const satisfies Record<ServiceAudience, readonly string[]>;

/** A scope some audience knows. */
export type ServiceScope = (typeof SCOPES_BY_AUDIENCE)[ServiceAudience][number];

/** True when `name` is a service a token may be issued for. */
export function isServiceAudience(name: string): name is ServiceAudience {
  return (SERVICE_AUDIENCES as readonly string[]).includes(name);
}

/** Every scope any audience knows, each once, in the order of {@link SCOPES_BY_AUDIENCE}. */
export function allServiceScopes(): ServiceScope[] {
  return [...new Set(SERVICE_AUDIENCES.flatMap((audience) => SCOPES_BY_AUDIENCE[audience]))];
}
