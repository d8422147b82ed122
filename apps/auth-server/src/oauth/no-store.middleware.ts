import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Marks an answer as never to be stored: it may carry a token (RFC 6749 section 5.1). */
export function setNoStore(response: ServerResponse): void {
  response.setHeader('Cache-Control', 'no-store');
  response.setHeader('Pragma', 'no-cache');
}

/**
 * Sets `Cache-Control: no-store` and `Pragma: no-cache` before anything else runs, so every
 * answer of the token endpoint carries them, whatever answers it (the endpoint, an error filter).
 */
@Injectable()
export class NoStoreMiddleware implements NestMiddleware {
  // Node's objects: middleware gets them on Express and on Fastify alike.
  use(_request: IncomingMessage, response: ServerResponse, next: () => void): void {
    setNoStore(response);
    next();
  }
}
