import { HttpException } from '@nestjs/common';

/**
 * An HTTP error with the platform's one error shape: `{"error": "<message>", ...extra}`.
 * Throw it from anywhere in a request; the service's exception filter sends it as is.
 */
export class HttpError extends HttpException {
  constructor(status: number, message: string, extra: Record<string, unknown> = {}) {
    super({ error: message, ...extra }, status);
  }
}
