import { applyDecorators } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiResponse,
} from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger';
import type { AnswerSpec, Endpoint } from '@zt/contracts';
import { z } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';

/**
 * Documents a route by its contract (`@zt/contracts`): the summary, the JSON (or form) body, the query
 * parameters, the path parameters and every answer with its body schema, all generated from
 * the schemas the route validates with and its callers read answers with. Nothing about a
 * route's shape is written by hand beside them.
 */
export function ApiEndpoint(endpoint: Endpoint): MethodDecorator {
  const decorators: Array<MethodDecorator> = [ApiOperation({ summary: endpoint.summary })];
  if (endpoint.body) decorators.push(ApiBody({ schema: jsonSchemaOf(endpoint.body) }));
  if (endpoint.requestType === 'form') {
    decorators.push(ApiConsumes('application/x-www-form-urlencoded'));
  }
  if (endpoint.requestType === 'bytes') {
    decorators.push(
      ApiConsumes('application/octet-stream'),
      ApiBody({ description: 'The raw bytes', schema: { type: 'string', format: 'binary' } }),
    );
  }
  for (const header of endpoint.headers ?? []) {
    decorators.push(
      ApiHeader({
        name: header.name,
        required: header.required ?? false,
        description: header.description,
        schema: { type: 'string', ...(header.pattern ? { pattern: header.pattern.source } : {}) },
      }),
    );
  }
  for (const [name, schema, required] of queryParameters(endpoint.query)) {
    decorators.push(ApiQuery({ name, required, schema }));
  }
  for (const [, sigil, name] of endpoint.path.matchAll(/([:*])([A-Za-z_]+)/g)) {
    const description =
      endpoint.params?.[name] ??
      (sigil === '*' ? 'The rest of the path, percent-encoded per segment' : undefined);
    decorators.push(ApiParam({ name, required: true, schema: { type: 'string' }, description }));
  }
  for (const [status, answers] of byStatus(endpoint.answers)) {
    decorators.push(
      ApiResponse({
        status,
        description: answers.map((answer) => `${answer.kind}: ${answer.description}`).join('; '),
        ...answerContent(endpoint, answers),
        ...answerHeaders(answers),
      }),
    );
  }
  return applyDecorators(...decorators);
}

/** The JSON schema of what a caller sends or reads (a transform's input side). */
export function jsonSchemaOf(schema: z.ZodTypeAny): SchemaObject {
  const json = zodToJsonSchema(schema, {
    target: 'openApi3',
    $refStrategy: 'none',
    effectStrategy: 'input',
    // Only .strict() objects (requests) refuse other fields; answers may grow new ones.
    removeAdditionalStrategy: 'strict',
  }) as Record<string, unknown>;
  delete json['$schema'];
  return json as SchemaObject;
}

function queryParameters(query: z.ZodTypeAny | undefined): Array<[string, SchemaObject, boolean]> {
  if (!(query instanceof z.ZodObject)) return [];
  return Object.entries(query.shape as Record<string, z.ZodTypeAny>).map(([name, schema]) => [
    name,
    jsonSchemaOf(schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodTypeAny) : schema),
    !schema.isOptional(),
  ]);
}

function byStatus(answers: readonly AnswerSpec[]): Map<number, AnswerSpec[]> {
  const grouped = new Map<number, AnswerSpec[]>();
  for (const answer of answers) {
    grouped.set(answer.status, [...(grouped.get(answer.status) ?? []), answer]);
  }
  return grouped;
}

function answerContent(endpoint: Endpoint, answers: AnswerSpec[]) {
  if (answers.every((answer) => answer.body instanceof z.ZodUnknown)) return {};
  if (endpoint.answerType === 'bytes' && answers.some(isBytes)) {
    return {
      content: {
        'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
      },
    };
  }
  const schemas = answers.map((answer) => jsonSchemaOf(answer.body));
  return { schema: schemas.length === 1 ? schemas[0] : { oneOf: schemas } };
}

function isBytes(answer: AnswerSpec): boolean {
  return answer.body.safeParse(Buffer.alloc(0)).success && !answer.body.safeParse({}).success;
}

function answerHeaders(answers: AnswerSpec[]) {
  const headers = Object.assign({}, ...answers.map((answer) => answer.headers ?? {})) as Record<
    string,
    string
  >;
  if (Object.keys(headers).length === 0) return {};
  return {
    headers: Object.fromEntries(
      Object.entries(headers).map(([name, description]) => [
        name,
        { description, schema: { type: 'string' } },
      ]),
    ),
  };
}
