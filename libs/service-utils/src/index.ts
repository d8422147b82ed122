// The internal-trust kit: what a NestJS service needs to refuse what it cannot verify and to
// prove itself on its own calls. It depends on @nestjs/common, @nestjs/core and jose; logging,
// metrics, health and the HTTP client are in @zt/service-chassis, which builds on this.

// Configuration: the internal credential, validated once at boot
export * from './lib/config/config.error';
export * from './lib/config/environment';
export * from './lib/config/internal-auth.config';
export * from './lib/config/token-strength';
export * from './lib/config/user-proof.config';
// Receiving side: the guard, its module and decorators
export * from './lib/auth/acting-user';
export * from './lib/auth/acting-user.decorator';
export * from './lib/auth/caller-rate-limit';
export * from './lib/auth/internal-auth-check';
export * from './lib/auth/acts-for-user.decorator';
export * from './lib/auth/internal-auth-denied.reason';
export * from './lib/auth/internal-auth-events';
export * from './lib/auth/internal-auth.constants';
export * from './lib/auth/internal-auth.module';
export * from './lib/auth/internal-only.decorator';
export * from './lib/auth/scrape-only.decorator';
export * from './lib/auth/internal-token.guard';
export * from './lib/auth/introspected.decorator';
export * from './lib/auth/public.decorator';
export * from './lib/auth/scopes.decorator';
export * from './lib/auth/verified-caller';
export * from './lib/auth/token-matcher';
export * from './lib/auth/user-proof.guard';
export * from './lib/auth/user-proof.interceptor';
export * from './lib/auth/proven-user';
export * from './lib/auth/user-proof.module';
export * from './lib/http/node-message';
export * from './lib/http/single-header';
// Sending side: the headers of an outgoing internal call
export * from './lib/auth/internal-headers';
export * from './lib/auth/internal-call-credentials';
export * from './lib/tokens/client-credentials';
export * from './lib/tokens/client-secret';
export * from './lib/tokens/service-token-cache';
export * from './lib/tokens/user-assertion-cache';
export * from './lib/tokens/token-introspector';
export * from './lib/tokens/introspection-unavailable.error';
export type { OAuthClientSecret } from './lib/tokens/oauth-client-post';
// Tokens: local verification of signed tokens against their issuer's JWKS
export * from './lib/tokens/jwt-verifier';
export * from './lib/tokens/service-token';
export * from './lib/tokens/user-assertion';
export * from './lib/tokens/token-errors';
export * from './lib/tokens/service-token-unavailable.error';
// Route inventory (for tests that every route is guarded or explicitly public)
export * from './lib/routes/route-inventory';
