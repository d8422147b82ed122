import { RequestMethod, type INestApplication } from '@nestjs/common';
import { GUARDS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { IS_INTERNAL_ONLY_KEY, IS_SCRAPE_ONLY_KEY } from '../auth/internal-auth.constants';
import { IS_PUBLIC_KEY } from '../auth/public.decorator';
import { SCOPES_KEY } from '../auth/scopes.decorator';

/** One route of an application, as declared by its controller. */
export interface RouteDescription {
  /** HTTP method, e.g. `POST`. */
  readonly method: string;
  /** Full path pattern, e.g. `/balance/:user_id`. */
  readonly path: string;
  /** True when the route or its controller says `@Public()`, and not `@InternalOnly()`: open to anyone. */
  readonly isPublic: boolean;
  /**
   * True when the route or its controller says `@InternalOnly()`: the internal credential is
   * required in every app, the public backend included (e.g. `GET /metrics`).
   */
  readonly isInternalOnly: boolean;
  /**
   * True when the route or its controller says `@ScrapeOnly()` (which implies `isInternalOnly`):
   * it takes the read-only scrape credential in `Authorization: Bearer`, never `X-INTERNAL-TOKEN`.
   */
  readonly isScrapeOnly: boolean;
  /**
   * The scopes a service token must carry (one of them) to call the route, as `@Scopes()` on
   * the route, else on its controller, declares them; `undefined` when neither does.
   */
  readonly scopes: readonly string[] | undefined;
  /** Names of guards the route or its controller declares with `@UseGuards` (global guards aside). */
  readonly routeGuards: readonly string[];
  /** `Controller.method`, for messages. */
  readonly handler: string;
}

/**
 * Lists every route of an initialised Nest application from its controllers' metadata.
 * It is the basis of a route-inventory test: each route must be `@Public()` or refused
 * without the internal credential, and the public ones must be exactly those intended.
 */
export function listRoutes(app: INestApplication): RouteDescription[] {
  const routes: RouteDescription[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!controller) continue;
      const prefix = normalise(Reflect.getMetadata(PATH_METADATA, controller));
      const classPublic = Reflect.getMetadata(IS_PUBLIC_KEY, controller) === true;
      const classInternalOnly = Reflect.getMetadata(IS_INTERNAL_ONLY_KEY, controller) === true;
      const classScrapeOnly = Reflect.getMetadata(IS_SCRAPE_ONLY_KEY, controller) === true;
      const classGuards = guardNames(Reflect.getMetadata(GUARDS_METADATA, controller));
      const classScopes = Reflect.getMetadata(SCOPES_KEY, controller) as string[] | undefined;
      const prototype = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (method === undefined) continue;
        const paths = [Reflect.getMetadata(PATH_METADATA, handler)].flat() as (
          string | undefined
        )[];
        const isInternalOnly =
          classInternalOnly || Reflect.getMetadata(IS_INTERNAL_ONLY_KEY, handler) === true;
        const isScrapeOnly =
          classScrapeOnly || Reflect.getMetadata(IS_SCRAPE_ONLY_KEY, handler) === true;
        const isPublic = classPublic || Reflect.getMetadata(IS_PUBLIC_KEY, handler) === true;
        for (const path of paths) {
          routes.push({
            method: RequestMethod[method],
            path: `/${[prefix, normalise(path)].filter(Boolean).join('/')}`,
            isPublic: isPublic && !isInternalOnly,
            isInternalOnly,
            isScrapeOnly,
            scopes:
              (Reflect.getMetadata(SCOPES_KEY, handler) as string[] | undefined) ?? classScopes,
            routeGuards: [
              ...classGuards,
              ...guardNames(Reflect.getMetadata(GUARDS_METADATA, handler)),
            ],
            handler: `${controller.name}.${name}`,
          });
        }
      }
    }
  }
  return routes.sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`));
}

function normalise(path: unknown): string {
  return typeof path === 'string' ? path.replace(/^\/+|\/+$/g, '') : '';
}

function guardNames(guards: unknown): string[] {
  return Array.isArray(guards)
    ? guards.map((guard: { name?: string }) => guard.name ?? 'anonymous guard')
    : [];
}
