import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { InternalAuthConfig } from '../config/internal-auth.config';
import { readActingUser } from '../auth/acting-user';
import {
  InternalAuthCheck,
  type InternalAuthCheckOptions,
  type InternalAuthDecision,
} from '../auth/internal-auth-check';
import type { InternalRouteOptions } from '../auth/internal-route.options';
import type { ServiceCaller } from '../tokens/service-token';

/** A route's `config.internalAuth`: what it asks of callers, or `'public'` to be open. */
export type FastifyInternalRouteConfig = InternalRouteOptions | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the kit's hook asks of this route's callers; a route without it refuses them all. */
    internalAuth?: FastifyInternalRouteConfig;
  }
  interface FastifyRequest {
    /**
     * Set by the kit's hook: the calling service its verified token names
     * (`INTERNAL_AUTH_MODE` `token+jwt` or `jwt`), undefined in `token` mode.
     */
    internalCaller?: ServiceCaller;
    /** Set by the kit's hook on a route with `actingUser`: the validated `X-User-ID`. */
    actingUserId?: string;
  }
}

/** What {@link internalAuthHook} needs. */
export interface InternalAuthHookOptions extends InternalAuthCheckOptions {
  /** The internal credential and mode, e.g. from `loadInternalAuthConfig(env, { serviceName })`. */
  readonly config: InternalAuthConfig;
}

/** The kit's check as a Fastify `onRequest` hook, and its key set's prefetch. */
export interface InternalAuthHook extends onRequestHookHandler {
  /** Fetches the issuer's key set now (call it as the app starts); never throws. */
  prefetchKeys(): Promise<void>;
}

const DENY_ALL: InternalRouteOptions = {};

/**
 * The NestJS guard's check (`InternalAuthCheck`: same statuses, bodies, `WWW-Authenticate`,
 * log lines and events) as a Fastify `onRequest` hook, before any body is parsed. Each route
 * says what it asks in its config; one that says nothing refuses every caller (default deny),
 * and so does the not-found handler:
 *
 * ```ts
 * app.addHook('onRequest', internalAuthHook({ config }));
 * app.get('/health', { config: { internalAuth: 'public' } }, health);
 * app.post('/charge', { config: { internalAuth: { scopes: ['billing:charge'] } } }, charge);
 * ```
 *
 * Then `request.internalCaller` is the verified caller. Imports nothing of Fastify at run time.
 */
export function internalAuthHook(options: InternalAuthHookOptions): InternalAuthHook {
  const check = new InternalAuthCheck(options.config, options);
  function internalAuth(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    const route = request.routeOptions.config.internalAuth ?? DENY_ALL;
    if (route === 'public') {
      done();
      return;
    }
    const apply = (decision: InternalAuthDecision): void => {
      if (decision.kind === 'refused') {
        if (decision.wwwAuthenticate !== undefined) {
          void reply.header('WWW-Authenticate', decision.wwwAuthenticate);
        }
        void reply.code(decision.status).send(decision.body);
        return;
      }
      request.internalCaller = decision.caller;
      if (route.actingUser !== undefined) {
        const user = readActingUser(
          request.raw,
          route.actingUser === true ? undefined : route.actingUser,
        );
        if (user.kind === 'refused') {
          void reply.code(user.status).send(user.body);
          return;
        }
        request.actingUserId = user.userId;
      }
      done();
    };
    const decision = check.check(request.raw, route);
    if (decision instanceof Promise) {
      void decision.then(apply, (error: unknown) => reply.send(error));
    } else {
      apply(decision);
    }
  }
  return Object.assign(internalAuth as onRequestHookHandler, {
    prefetchKeys: () => check.prefetchKeys(),
  });
}
