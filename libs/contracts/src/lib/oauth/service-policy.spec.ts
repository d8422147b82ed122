import type { ServiceClientPolicy } from './service-clients';
import { policyCell, policyTable, SERVICE_TOKEN_SCOPES, scopedRoutes } from './service-policy';

const reader: ServiceClientPolicy = {
  clientId: 'reader',
  description: 'reads balances',
  audiences: { 'billing-server': ['billing:balance.read'] },
};

function document(paths: Record<string, Record<string, unknown>>) {
  return { openapi: '3.0.0', paths };
}

describe(scopedRoutes.name, () => {
  it('lists the operations that declare scopes, by path then method, and no other', () => {
    const sut = scopedRoutes(
      document({
        '/holds': {
          post: { [SERVICE_TOKEN_SCOPES]: ['billing:charge'] },
          get: { [SERVICE_TOKEN_SCOPES]: ['billing:charge', 'billing:refund'] },
        },
        '/balance/{user_id}': { get: { [SERVICE_TOKEN_SCOPES]: ['billing:balance.read'] } },
        '/health': { get: { security: [] } },
      }),
    );
    expect(sut).toEqual([
      { route: 'GET /balance/{user_id}', scopes: ['billing:balance.read'] },
      { route: 'GET /holds', scopes: ['billing:charge', 'billing:refund'] },
      { route: 'POST /holds', scopes: ['billing:charge'] },
    ]);
  });

  it('refuses a document without paths or with scopes that are not strings', () => {
    expect(() => scopedRoutes({})).toThrow();
    expect(() =>
      scopedRoutes(document({ '/x': { get: { [SERVICE_TOKEN_SCOPES]: [1] } } })),
    ).toThrow();
  });
});

describe(policyCell.name, () => {
  it('allows a route when the client may get one of its scopes at its service', () => {
    expect(policyCell(reader, 'billing-server', ['billing:charge', 'billing:balance.read'])).toBe(
      'allowed',
    );
  });

  it('refuses a route of another service or with none of its scopes', () => {
    expect(policyCell(reader, 'billing-server', ['billing:charge'])).toBe('-');
    expect(policyCell(reader, 'auth-server', ['billing:balance.read'])).toBe('-');
  });
});

describe(policyTable.name, () => {
  it('gives every service its rows and every row a cell per client', () => {
    const scoped = (scope: string) =>
      document({ '/metrics': { get: { [SERVICE_TOKEN_SCOPES]: [scope] } } });
    const sut = policyTable(
      {
        'auth-server': scoped('metrics:read'),
        'billing-server': document({
          '/balance/{user_id}': { get: { [SERVICE_TOKEN_SCOPES]: ['billing:balance.read'] } },
        }),
        'filesystem-server': document({}),
        backend: scoped('metrics:read'),
      },
      [reader, { clientId: 'nobody', description: '', audiences: {} }],
    );
    expect(sut).toEqual({
      'auth-server': [
        { route: 'GET /metrics', scopes: ['metrics:read'], cells: { reader: '-', nobody: '-' } },
      ],
      'billing-server': [
        {
          route: 'GET /balance/{user_id}',
          scopes: ['billing:balance.read'],
          cells: { reader: 'allowed', nobody: '-' },
        },
      ],
      'filesystem-server': [],
      backend: [
        { route: 'GET /metrics', scopes: ['metrics:read'], cells: { reader: '-', nobody: '-' } },
      ],
    });
  });
});
