import {
  type CallHandler,
  type ExecutionContext,
  HttpStatus,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { HttpError } from '@zt/service-chassis';
import {
  type FrameworkRequest,
  type FrameworkResponse,
  nodeRequestOf,
  nodeResponseOf,
} from '@zt/service-utils';
import { finalize, type Observable } from 'rxjs';
import { getAuthenticatedUser } from '../auth/authenticated-user';

/**
 * How many file requests one user may have in progress at once. An upload is held in memory
 * (up to the upload limit) while it is charged and written, and the filesystem server runs a
 * user's writes one at a time: a user with dozens in flight would fill the backend's memory
 * and push the queued ones past the internal timeout, opening the filesystem breaker for
 * every user. Beyond it: `429`, before anything is read or charged.
 */
export const MAX_FILE_REQUESTS_PER_USER = 4;

/**
 * Caps the file requests in progress per user (the verified token's `sub`) at
 * {@link MAX_FILE_REQUESTS_PER_USER}, in this process.
 */
@Injectable()
export class PerUserConcurrencyInterceptor implements NestInterceptor {
  private readonly inFlight = new Map<string, number>();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = nodeRequestOf(context.switchToHttp().getRequest<FrameworkRequest>());
    const userId = getAuthenticatedUser(request)?.userId;
    if (userId === undefined) return next.handle();
    const running = this.inFlight.get(userId) ?? 0;
    if (running >= MAX_FILE_REQUESTS_PER_USER) {
      nodeResponseOf(context.switchToHttp().getResponse<FrameworkResponse>()).setHeader(
        'Retry-After',
        '1',
      );
      throw new HttpError(HttpStatus.TOO_MANY_REQUESTS, 'too many file requests in progress');
    }
    this.inFlight.set(userId, running + 1);
    return next.handle().pipe(
      finalize(() => {
        const left = (this.inFlight.get(userId) ?? 1) - 1;
        if (left === 0) this.inFlight.delete(userId);
        else this.inFlight.set(userId, left);
      }),
    );
  }
}
