import type { INestApplication } from '@nestjs/common';
import {
  DocumentBuilder,
  type OpenAPIObject,
  type OperationObject,
  type PathItemObject,
  type ResponsesObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { SERVICE_TOKEN_SCOPES } from '@zt/contracts';
import { INTERNAL_TOKEN_HEADER } from '@zt/service-utils';
import { REQUEST_ID_HEADER } from '../logging/request-id';
import { listRoutes, type RouteDescription } from '@zt/service-utils';
import {
  BEARER_SECURITY,
  INTERNAL_TOKEN_SECURITY,
  METRICS_TOKEN_SECURITY,
  type OpenApiOptions,
} from './openapi.options';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/**
 * The operation's `@Scopes()`: with service identity (`INTERNAL_AUTH_MODE` `token+jwt` or
 * `jwt`), a service token must carry one of them. A vendor extension, because which schemes a
 * call needs depends on the deployment's mode; docs/policy.md is generated from it. Its name
 * is in `@zt/contracts`, beside `scopedRoutes`, which reads it back.
 */
export { SERVICE_TOKEN_SCOPES };
const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'string', description: 'What went wrong, for a human' },
    details: {
      type: 'array',
      description: 'Validation problems, one per field',
      items: {
        type: 'object',
        properties: { field: { type: 'string' }, message: { type: 'string' } },
      },
    },
    request_id: { type: 'string', description: 'On a 500: the id of the log line with the cause' },
  },
} as const;

/**
 * The OpenAPI document of an application (`app` created, not necessarily listening).
 *
 * Security is derived from the same metadata the guards read, so the document cannot claim
 * a route is open when it is not: every `@Public()` route gets `security: []`, every
 * `@InternalOnly()` route the `internal-token` scheme (`X-INTERNAL-TOKEN`), every
 * `@ScrapeOnly()` route the `metrics-token` scheme (`Authorization: Bearer`), and every other
 * route `options.auth`, with its refusal (`403 {"error":"Forbidden"}` or
 * `401 {"error":"unauthorized"}`) among its answers. Every answer is documented with the
 * `X-Request-ID` header, and every route with `@Scopes()` lists them in
 * {@link SERVICE_TOKEN_SCOPES}.
 */
export function createOpenApiDocument(
  app: INestApplication,
  options: OpenApiOptions,
): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle(options.title)
    .setDescription(options.description)
    .setVersion(options.version ?? '1')
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: INTERNAL_TOKEN_HEADER,
        description: 'The internal credential (INTERNAL_SERVICE_TOKEN)',
      },
      INTERNAL_TOKEN_SECURITY,
    );
  builder.addBearerAuth(
    {
      type: 'http',
      scheme: 'bearer',
      description:
        'A read-only scrape credential: METRICS_TOKEN, or a service token with metrics:read',
    },
    METRICS_TOKEN_SECURITY,
  );
  if (options.auth === 'bearer') {
    builder.addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'A user access token from POST /login',
      },
      BEARER_SECURITY,
    );
  }
  const document = SwaggerModule.createDocument(app, builder.build(), {
    operationIdFactory: (controller, method) => `${controller}_${method}`,
  });
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, ErrorBody: ERROR_SCHEMA as never },
  };

  const routes = new Map<string, RouteDescription>(
    listRoutes(app).map((route) => [route.handler.replace('.', '_'), route]),
  );
  for (const item of Object.values(document.paths) as PathItemObject[]) {
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation?.operationId) continue;
      const route = routes.get(operation.operationId);
      if (route) describeAccess(operation, route, options);
      operation.responses = withRequestIdHeader(operation.responses);
    }
  }
  return document;
}

function describeAccess(
  operation: OperationObject,
  route: RouteDescription,
  options: OpenApiOptions,
): void {
  if (route.isPublic) {
    operation.security = [];
    return;
  }
  if (route.scopes) Object.assign(operation, { [SERVICE_TOKEN_SCOPES]: [...route.scopes] });
  if (route.isScrapeOnly) {
    operation.security = [{ [METRICS_TOKEN_SECURITY]: [] }];
    operation.responses['401'] ??= {
      description:
        'Missing or wrong scrape credential (X-INTERNAL-TOKEN is not one): {"error":"unauthorized"}',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
    };
    return;
  }
  const internal = route.isInternalOnly || options.auth === 'internal-token';
  operation.security = [{ [internal ? INTERNAL_TOKEN_SECURITY : BEARER_SECURITY]: [] }];
  const [status, description] = internal
    ? ['403', `Missing, repeated or wrong ${INTERNAL_TOKEN_HEADER}: {"error":"Forbidden"}`]
    : [
        '401',
        'Missing, malformed, expired or otherwise invalid access token: {"error":"unauthorized"}',
      ];
  operation.responses[status] ??= {
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
  };
}

function withRequestIdHeader(responses: ResponsesObject): ResponsesObject {
  for (const response of Object.values(responses)) {
    if (!response || '$ref' in response) continue;
    response.headers = {
      ...response.headers,
      [REQUEST_ID_HEADER]: {
        description:
          'The id of this request in every log line it caused (the one sent, when valid)',
        schema: { type: 'string' },
      },
    };
  }
  return responses;
}
