// One contract between services: the value types every service shares, and every internal
// route's request and answers as zod schemas. Callees validate with them, callers read
// answers into outcomes with them (`readOutcome`), and the OpenAPI documents come from them.

// Endpoints and outcomes
export * from './lib/endpoint';
// Shared value types
export * from './lib/values/caller-name';
export * from './lib/values/credit-amount';
export * from './lib/values/error-body';
export * from './lib/values/file-path';
export * from './lib/values/invalid-file-path.error';
export * from './lib/values/page-query';
export * from './lib/values/tier';
export * from './lib/values/user-id';
// The routes of each service
export * as authApi from './lib/auth/auth.contract';
export * as backendApi from './lib/backend/backend.contract';
export * as billingApi from './lib/billing/billing.contract';
export * as filesystemApi from './lib/filesystem/filesystem.contract';
export * as oauthApi from './lib/oauth/oauth.contract';
// Service identity: the audiences of service tokens, the scopes each knows, and which
// client may have which (the versioned policy auth-server applies)
export * from './lib/oauth/service-scopes';
export * from './lib/oauth/service-clients';
// Who may call which internal route: the table docs/policy.md shows
export * from './lib/oauth/service-policy';
