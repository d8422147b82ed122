import type { AbstractHttpAdapter } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { REQUEST_ID_HEADER, resolveRequestId } from '../logging/request-id';
import { recordRoute } from './matched-route';
import { isMalformedUrl, refuseMalformedUrl } from './malformed-url';
import { hasTooManyHeaders, refuseTooManyHeaders } from './too-many-headers';

/**
 * What a route may do to its answer through `@Res({ passthrough: true })` on either adapter:
 * Express's response and Fastify's reply both have these two methods.
 */
export interface ReplyControls {
  status(code: number): unknown;
  header(name: string, value: string): unknown;
}

/** The HTTP adapters a service can run on (`HTTP_ADAPTER`); Express is the default. */
export const HTTP_ADAPTERS = ['express', 'fastify'] as const;

/** One of {@link HTTP_ADAPTERS}. */
export type HttpAdapterKind = (typeof HTTP_ADAPTERS)[number];

/**
 * Longest route parameter Fastify matches (its default, 100, would answer 404 to a long file
 * path that Express serves). Node's 16 KiB header cap bounds the URL anyway.
 */
const MAX_PARAM_LENGTH = 16 * 1024;

/** A named wildcard at the end of a route (`/files/*path`). */
const NAMED_WILDCARD = /\*[A-Za-z_$][\w$]*$/;

/**
 * The Nest HTTP adapter of `kind`, set up the same way on both, so that a service behaves
 * alike on either:
 * - a request with too many header lines (431) or a path with a malformed percent-encoding
 *   (400) is refused before routing ({@link refuseBeforeRouting});
 * - no body parser: a `@JsonBody()` route's interceptor reads JSON after the guards, and a
 *   raw-body route reads Node's request stream itself (Fastify's own parsers are removed; it
 *   leaves every body unread);
 * - no `X-Powered-By`; the route pattern that matched is known to the request log and the
 *   metrics (`matchedRoute`); the request id is the platform's (`resolveRequestId`), which
 *   Fastify echoes in `X-Request-ID` even without `LoggingModule`.
 */
export async function createHttpAdapter(kind: HttpAdapterKind): Promise<AbstractHttpAdapter> {
  if (kind === 'express') {
    const adapter = new ExpressAdapter();
    adapter.getInstance().disable('x-powered-by');
    // Registered before any route, so it runs before Express decodes a route parameter.
    adapter.use((request: IncomingMessage, response: ServerResponse, next: () => void) => {
      if (!refuseBeforeRouting(request, response)) next();
    });
    return adapter;
  }
  // Loaded only here, so that a service on Express does not hold Fastify in memory.
  const { FastifyAdapter } = await import('@nestjs/platform-fastify');
  const adapter = new FastifyAdapter({
    // Fastify routes a request (and answers a malformed path itself, echoing it) before any
    // hook runs: the refusals wrap its handler instead.
    serverFactory: (handler: (request: IncomingMessage, response: ServerResponse) => void) =>
      createServer((request, response) => {
        if (!refuseBeforeRouting(request, response)) handler(request, response);
      }),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // Fastify names every request itself (`req-1`, ...) and its middleware layer copies that
    // name onto Node's request, where the logger would take it: the platform's id instead.
    genReqId: (request: IncomingMessage) => resolveRequestId(request),
  });
  const fastify = adapter.getInstance();
  fastify.removeAllContentTypeParsers();
  // Accept every body, read none: the stream stays for the interceptor or the route.
  fastify.addContentTypeParser('*', (_request, _payload, done) => done(null));
  // Routes name their wildcard as Express 5 wants it (`files/*path`); Fastify's router takes
  // it bare (`/files/*`), and Nest passes the path through unchanged.
  fastify.addHook('onRoute', (route) => {
    route.url = route.url.replace(NAMED_WILDCARD, '*');
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    recordRoute(request.raw, request.routeOptions.url);
    reply.raw.setHeader(REQUEST_ID_HEADER, request.id);
    done();
  });
  return adapter;
}

/**
 * Refuses `request` before routing when it has more header lines than allowed (431) or a
 * malformed percent-encoding in its path (400); `true` when it answered.
 */
export function refuseBeforeRouting(request: IncomingMessage, response: ServerResponse): boolean {
  if (hasTooManyHeaders(request)) {
    refuseTooManyHeaders(request, response);
    return true;
  }
  if (isMalformedUrl(request)) {
    refuseMalformedUrl(request, response);
    return true;
  }
  return false;
}
