// The trust kit's check as Express middleware (`@zt/service-utils/express`), for an app
// without NestJS. Kept out of the main entry so that only apps that use it get the types it
// adds to Express's request; it imports nothing of Express at run time.
export * from './lib/express/internal-auth.middleware';
export type { InternalRouteOptions } from './lib/auth/internal-route.options';
