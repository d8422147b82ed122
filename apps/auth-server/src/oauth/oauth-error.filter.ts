import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  type FrameworkRequest,
  type FrameworkResponse,
  nodeRequestOf,
  nodeResponseOf,
} from '@zt/service-utils';
import { TOKEN_ENDPOINT_REALM } from './oauth.constants';
import { OAuthError } from './oauth.error';
import { setNoStore } from './no-store.middleware';

/**
 * Answers a refused token request as RFC 6749 section 5.2 says: its status,
 * `{"error", "error_description"}`, `Cache-Control: no-store`, and on `invalid_client` (401)
 * `WWW-Authenticate: Basic realm="auth-server"`.
 */
@Catch(OAuthError)
export class OAuthErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(OAuthErrorFilter.name);

  // The adapter answers (Express or Fastify); headers go on Node's response.
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: OAuthError, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FrameworkResponse>();
    const response = nodeResponseOf(reply);
    const request = nodeRequestOf(http.getRequest<FrameworkRequest>());
    this.logger.log({
      event: 'oauth_token_refused',
      error: exception.error,
      description: exception.description,
    });
    setNoStore(response);
    // Refused before its body was read: close rather than read what will not be used.
    if (!request.complete) response.setHeader('Connection', 'close');
    if (exception.retryAfterSeconds !== undefined) {
      response.setHeader('Retry-After', String(exception.retryAfterSeconds));
    }
    if (exception.status === 401) {
      response.setHeader('WWW-Authenticate', `Basic realm="${TOKEN_ENDPOINT_REALM}"`);
    }
    this.adapterHost.httpAdapter.reply(
      reply,
      { error: exception.error, error_description: exception.description },
      exception.status,
    );
  }
}
