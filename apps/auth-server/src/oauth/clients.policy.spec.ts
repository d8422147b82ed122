import {
  SCOPES_BY_AUDIENCE,
  SERVICE_AUDIENCES,
  SERVICE_CLIENTS,
  type ServiceClientPolicy,
  type ServiceScope,
} from '@zt/contracts';
import { clientPolicy, decideGrant, findPolicyErrors } from './clients.policy';

/** Who the reference policy lets have `scope` anywhere. */
const holdersOf = (scope: ServiceScope) =>
  SERVICE_CLIENTS.filter((client) =>
    Object.values(client.audiences).some((scopes) => scopes?.includes(scope)),
  ).map((client) => client.clientId);

const policy = (name: string) => {
  const found = clientPolicy(SERVICE_CLIENTS, name);
  if (!found) throw new Error(`no client ${name}`);
  return found;
};

describe('SERVICE_CLIENTS (the reference policy of DESIGN section 9)', () => {
  it('is sound: dashed lower-case ids, each once, scopes their audience knows', () => {
    expect(findPolicyErrors(SERVICE_CLIENTS)).toEqual([]);
  });

  it("has one client per service, the metrics scraper and the operator's tools", () => {
    expect(SERVICE_CLIENTS.map((client) => client.clientId).sort()).toEqual(
      [...SERVICE_AUDIENCES, 'metrics-scraper', 'operator'].sort(),
    );
  });

  it('lets the auth server open accounts and read stats at billing, and nothing else', () => {
    expect(policy('auth-server').audiences).toEqual({
      'billing-server': ['billing:accounts.write', 'billing:stats.read'],
    });
  });

  it('lets the backend read balances, charge and refund, and read and write files as a user', () => {
    expect(policy('backend').audiences['billing-server']).toEqual([
      'billing:balance.read',
      'billing:charge',
      'billing:refund',
    ]);
    expect(policy('backend').audiences['filesystem-server']).toEqual([
      'files:read',
      'files:write',
      'files:act-as-user',
    ]);
  });

  it.each([
    ['billing:accounts.write', ['auth-server']],
    ['billing:stats.read', ['auth-server']],
    ['billing:balance.read', ['backend']],
    ['billing:charge', ['backend']],
    ['billing:refund', ['backend']],
    ['files:read', ['backend']],
    ['files:write', ['backend']],
    ['files:act-as-user', ['backend']],
    ['billing:ledger.read', ['operator']],
    ['auth:invites.write', ['operator']],
    ['auth:stats.read', ['operator']],
  ] as const)('gives %s to %j and nobody else', (scope, holders) => {
    expect(holdersOf(scope)).toEqual(holders);
  });

  it('gives billing and the filesystem an identity and no audience', () => {
    expect(policy('billing-server').audiences).toEqual({});
    expect(policy('filesystem-server').audiences).toEqual({});
  });

  it("lets the operator's tools make invites, read auth's stats and a ledger, and nothing more", () => {
    expect(policy('operator').audiences).toEqual({
      'auth-server': ['auth:invites.write', 'auth:stats.read'],
      'billing-server': ['billing:ledger.read'],
    });
  });

  it('lets the metrics scraper read the metrics of every service, and nothing more', () => {
    expect(policy('metrics-scraper').audiences).toEqual(
      Object.fromEntries(SERVICE_AUDIENCES.map((audience) => [audience, ['metrics:read']])),
    );
  });
});

describe(findPolicyErrors.name, () => {
  it('names each mistake', () => {
    const broken = [
      { clientId: 'Backend', description: '', audiences: {} },
      { clientId: 'dup', description: '', audiences: {} },
      { clientId: 'dup', description: '', audiences: {} },
      {
        clientId: 'mixed',
        description: '',
        audiences: { 'billing-server': ['files:read', 'billing:charge', 'billing:charge'] },
      },
      { clientId: 'nowhere', description: '', audiences: { mail: ['metrics:read'] } },
    ] as unknown as ServiceClientPolicy[];
    expect(findPolicyErrors(broken)).toEqual([
      'client id "Backend" is not lower-case and dashed',
      'client id "dup" is repeated',
      'mixed: billing-server has no scope "files:read"',
      'mixed: a scope is repeated for billing-server',
      'nowhere: unknown audience "mail"',
    ]);
  });

  it('knows every scope of DESIGN section 9', () => {
    const known = new Set(Object.values(SCOPES_BY_AUDIENCE).flat());
    for (const scope of [
      'billing:accounts.write',
      'billing:balance.read',
      'billing:charge',
      'billing:refund',
      'billing:ledger.read',
      'billing:stats.read',
      'files:read',
      'files:write',
      'files:act-as-user',
      'auth:invites.write',
      'auth:stats.read',
      'metrics:read',
    ]) {
      expect(known).toContain(scope);
    }
  });
});

describe(decideGrant.name, () => {
  const backend = policy('backend');

  it('grants every scope of the audience when none is asked for', () => {
    expect(decideGrant(backend, 'filesystem-server', undefined)).toEqual({
      kind: 'granted',
      scopes: ['files:read', 'files:write', 'files:act-as-user'],
    });
  });

  it('grants exactly the scopes asked for, in the policy order', () => {
    expect(
      decideGrant(backend, 'billing-server', ['billing:refund', 'billing:balance.read']),
    ).toEqual({ kind: 'granted', scopes: ['billing:balance.read', 'billing:refund'] });
  });

  it('refuses a scope outside the policy for that audience, even one allowed elsewhere', () => {
    expect(decideGrant(backend, 'billing-server', ['billing:charge', 'files:read'])).toEqual({
      kind: 'invalid_scope',
    });
    expect(decideGrant(backend, 'billing-server', ['billing:accounts.write'])).toEqual({
      kind: 'invalid_scope',
    });
    expect(decideGrant(backend, 'billing-server', [])).toEqual({ kind: 'invalid_scope' });
  });

  it('refuses an audience the client may not call', () => {
    expect(decideGrant(policy('auth-server'), 'filesystem-server', undefined)).toEqual({
      kind: 'invalid_target',
    });
    expect(decideGrant(backend, 'backend', undefined)).toEqual({ kind: 'invalid_target' });
  });

  it('refuses a client that may call nobody', () => {
    expect(decideGrant(policy('billing-server'), 'billing-server', undefined)).toEqual({
      kind: 'unauthorized_client',
    });
  });
});
