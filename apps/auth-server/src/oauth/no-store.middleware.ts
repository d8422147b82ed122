import { Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/** Marks an answer as never to be stored: it may carry a token (RFC 6749 section 5.1). */
export function setNoStore(response: Response): void {
  response.setHeader('Cache-Control', 'no-store');
  response.setHeader('Pragma', 'no-cache');
}

/**
 * Sets `Cache-Control: no-store` and `Pragma: no-cache` before anything else runs, so every
 * answer of the token endpoint carries them, whatever answers it (the endpoint, an error filter).
 */
@Injectable()
export class NoStoreMiddleware implements NestMiddleware {
  use(_request: Request, response: Response, next: NextFunction): void {
    setNoStore(response);
    next();
  }
}
