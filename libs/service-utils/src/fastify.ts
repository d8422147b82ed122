// The trust kit's check as a Fastify hook (`@zt/service-utils/fastify`), for an app without
// NestJS. Kept out of the main entry: Fastify is an optional peer dependency, imported for its
// types only, and a NestJS service never loads this file.
export * from './lib/fastify/internal-auth.hook';
export type { InternalRouteOptions } from './lib/auth/internal-route.options';
