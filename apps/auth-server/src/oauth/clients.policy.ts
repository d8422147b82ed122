import {
  SCOPES_BY_AUDIENCE,
  type ServiceAudience,
  type ServiceClientPolicy,
  type ServiceScope,
} from '@zt/contracts';
import { SERVICE_NAME_PATTERN } from '@zt/service-utils';

// The policy itself (SERVICE_CLIENTS) is in libs/contracts, beside the scopes it grants, so
// docs/policy.md is generated from the same data the token endpoint applies; here is how it
// is checked and applied.

/**
 * Every mistake in `clients`: a malformed or repeated client id, or a scope its audience does
 * not know. Empty when the policy is sound; the auth server refuses to start otherwise.
 */
export function findPolicyErrors(clients: readonly ServiceClientPolicy[]): string[] {
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const client of clients) {
    if (!SERVICE_NAME_PATTERN.test(client.clientId)) {
      errors.push(`client id "${client.clientId}" is not lower-case and dashed`);
    }
    if (seen.has(client.clientId)) errors.push(`client id "${client.clientId}" is repeated`);
    seen.add(client.clientId);
    for (const [audience, scopes] of Object.entries(client.audiences)) {
      const known: readonly string[] | undefined = SCOPES_BY_AUDIENCE[audience as ServiceAudience];
      if (!known) {
        errors.push(`${client.clientId}: unknown audience "${audience}"`);
        continue;
      }
      for (const scope of scopes ?? []) {
        if (!known.includes(scope)) {
          errors.push(`${client.clientId}: ${audience} has no scope "${scope}"`);
        }
      }
      if (new Set(scopes).size !== (scopes ?? []).length) {
        errors.push(`${client.clientId}: a scope is repeated for ${audience}`);
      }
    }
  }
  return errors;
}

/** The policy of `clientId`, or `undefined` for a client nobody configured. */
export function clientPolicy(
  clients: readonly ServiceClientPolicy[],
  clientId: string,
): ServiceClientPolicy | undefined {
  return clients.find((client) => client.clientId === clientId);
}

/** What the policy grants one request. */
export type GrantDecision =
  | { readonly kind: 'granted'; readonly scopes: readonly ServiceScope[] }
  /** The client may call nobody. */
  | { readonly kind: 'unauthorized_client' }
  /** The client may not call this audience. */
  | { readonly kind: 'invalid_target' }
  /** A requested scope is outside what the client may have at this audience. */
  | { readonly kind: 'invalid_scope' };

/**
 * Decides what `client` gets at `audience`: without `requested`, every scope the policy gives
 * it there; with it, exactly those scopes if each is allowed. Scopes come in the policy's order.
 */
export function decideGrant(
  client: ServiceClientPolicy,
  audience: ServiceAudience,
  requested: readonly string[] | undefined,
): GrantDecision {
  if (Object.keys(client.audiences).length === 0) return { kind: 'unauthorized_client' };
  const allowed = client.audiences[audience];
  if (!allowed || allowed.length === 0) return { kind: 'invalid_target' };
  if (requested === undefined) return { kind: 'granted', scopes: allowed };
  if (requested.length === 0 || requested.some((scope) => !allowed.some((a) => a === scope))) {
    return { kind: 'invalid_scope' };
  }
  return { kind: 'granted', scopes: allowed.filter((scope) => requested.includes(scope)) };
}
