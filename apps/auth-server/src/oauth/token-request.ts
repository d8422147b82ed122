import { HttpStatus } from '@nestjs/common';
import type { ServiceAudience } from '@zt/contracts';
import {
  type FrameworkRequest,
  type HeaderPresence,
  nodeRequestOf,
  readSingleHeader,
} from '@zt/service-utils';
import { MAX_TOKEN_REQUEST_BYTES } from './oauth.constants';
import { OAuthError } from './oauth.error';

/** A parsed form: each parameter once, those without a value left out (RFC 6749 section 3.2). */
export type FormParameters = ReadonlyMap<string, string>;

/** Who the client says it is, and how it proved it. */
export interface ClientCredentials {
  readonly method: 'client_secret_basic' | 'client_secret_post';
  readonly clientId: string;
  readonly secret: string;
}

// Control characters (C0, DEL, C1): never part of a parameter.
const CONTROL_CHARACTER = /\p{Cc}/u;
// A scope-token of RFC 6749 section 3.3, joined by single spaces.
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/;

/** True when `contentType` is `application/x-www-form-urlencoded`, with at most a UTF-8 charset. */
export function isFormContentType(contentType: string): boolean {
  return /^application\/x-www-form-urlencoded\s*(;\s*charset="?utf-8"?\s*)?$/i.test(
    contentType.trim(),
  );
}

/**
 * Parses an `application/x-www-form-urlencoded` body strictly: visible ASCII only (anything
 * else must be percent-encoded), valid percent-encoding of UTF-8, no control character once
 * decoded, and no parameter twice (RFC 6749 section 3.2: "MUST NOT be included more than
 * once", an empty value included). A parameter without a value counts as omitted.
 * @throws OAuthError `invalid_request` naming what is wrong (never a value).
 */
export function parseForm(body: Buffer): FormParameters {
  for (const byte of body) {
    if (byte < 0x21 || byte > 0x7e) {
      throw new OAuthError(
        'invalid_request',
        'malformed form body: characters other than visible ASCII must be percent-encoded',
      );
    }
  }
  const seen = new Set<string>();
  const parameters = new Map<string, string>();
  for (const pair of body.toString('latin1').split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decodeFormComponent(equals === -1 ? pair : pair.slice(0, equals));
    const value = equals === -1 ? '' : decodeFormComponent(pair.slice(equals + 1));
    if (name === '') throw new OAuthError('invalid_request', 'malformed form body: empty name');
    if (seen.has(name)) {
      throw new OAuthError('invalid_request', `parameter ${quoted(name)} is repeated`);
    }
    seen.add(name);
    if (value !== '') parameters.set(name, value);
  }
  return parameters;
}

/** One name or value of a form: `+` is a space, `%XX` a byte of UTF-8. */
function decodeFormComponent(encoded: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(encoded.replaceAll('+', ' '));
  } catch {
    throw new OAuthError(
      'invalid_request',
      'malformed form body: bad percent-encoding or invalid UTF-8',
    );
  }
  if (CONTROL_CHARACTER.test(decoded)) {
    throw new OAuthError('invalid_request', 'malformed form body: a control character');
  }
  return decoded;
}

/** A parameter name fit to quote back to the caller: short, and known safe characters only. */
function quoted(name: string): string {
  return /^[a-z_]{1,32}$/.test(name) ? `"${name}"` : '(a parameter)';
}

/**
 * The client's credentials: `client_secret_basic` (the `Authorization: Basic` header, whose id
 * and secret are form-encoded before base64, RFC 6749 section 2.3.1) or `client_secret_post`
 * (`client_id` and `client_secret` in the form), never both.
 * @throws OAuthError `invalid_request` for a malformed or repeated header, both methods at
 *   once, or a `client_id` in the form that is not the header's; `invalid_client` (401) for no
 *   authentication or another scheme than Basic.
 */
export function readClientCredentials(
  authorization: HeaderPresence,
  form: FormParameters,
): ClientCredentials {
  const formId = form.get('client_id');
  const formSecret = form.get('client_secret');
  switch (authorization.kind) {
    case 'repeated':
      throw new OAuthError('invalid_request', 'the Authorization header is repeated');
    case 'absent':
      if (formSecret === undefined) {
        throw new OAuthError('invalid_client', 'client authentication is required');
      }
      if (formId === undefined) {
        throw new OAuthError('invalid_request', 'client_secret without client_id');
      }
      return { method: 'client_secret_post', clientId: formId, secret: formSecret };
    case 'single': {
      const match = /^([A-Za-z]+) +([^ ]*)$/.exec(authorization.value.trim());
      if (!match || match[1].toLowerCase() !== 'basic') {
        throw new OAuthError(
          'invalid_client',
          'client authentication must be Basic (client_secret_basic) or in the form',
        );
      }
      if (formSecret !== undefined) {
        throw new OAuthError(
          'invalid_request',
          'the client authenticated twice: use the Authorization header or client_secret, not both',
        );
      }
      const basic = decodeBasic(match[2]);
      if (formId !== undefined && formId !== basic.clientId) {
        throw new OAuthError(
          'invalid_request',
          'client_id in the form is not the client of the Authorization header',
        );
      }
      return { method: 'client_secret_basic', ...basic };
    }
  }
}

function decodeBasic(encoded: string): { clientId: string; secret: string } {
  const malformed = () =>
    new OAuthError(
      'invalid_request',
      'malformed Basic credentials: base64 of form-encoded client_id:client_secret',
    );
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) throw malformed();
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.toString('base64') !== encoded) throw malformed();
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw malformed();
  }
  const colon = text.indexOf(':');
  if (colon === -1) throw malformed();
  const decode = (part: string) => {
    try {
      return decodeFormComponent(part);
    } catch {
      throw malformed();
    }
  };
  const clientId = decode(text.slice(0, colon));
  const secret = decode(text.slice(colon + 1));
  if (clientId === '' || secret === '') throw malformed();
  return { clientId, secret };
}

/**
 * The audience a request names: `audience` (a service name) or `resource` (a service's base
 * URL, RFC 8707), exactly one of them.
 * @throws OAuthError `invalid_request` when neither or both are given; `invalid_target` when
 *   the audience is no service, or the resource is not an absolute URL without fragment, or
 *   not one of `serviceUrls`.
 */
export function readAudience(
  form: FormParameters,
  serviceUrls: Readonly<Record<ServiceAudience, string>>,
): ServiceAudience {
  const audience = form.get('audience');
  const resource = form.get('resource');
  if (audience === undefined && resource === undefined) {
    throw new OAuthError(
      'invalid_request',
      'name the callee with audience (its service name) or resource (its base URL)',
    );
  }
  if (audience !== undefined && resource !== undefined) {
    throw new OAuthError('invalid_request', 'give audience or resource, not both');
  }
  const services = Object.keys(serviceUrls) as ServiceAudience[];
  if (audience !== undefined) {
    const found = services.find((service) => service === audience);
    if (!found) throw new OAuthError('invalid_target', 'unknown audience');
    return found;
  }
  const wanted = normalizedResource(resource as string);
  const found = services.find((service) => normalizedResource(serviceUrls[service]) === wanted);
  if (wanted === undefined || !found) {
    throw new OAuthError('invalid_target', 'resource is not the base URL of a known service');
  }
  return found;
}

/** An absolute http(s) URL as origin and path without trailing `/`; `undefined` otherwise. */
function normalizedResource(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.hash || value.includes('#') || url.search || url.username || url.password) {
    return undefined;
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The scopes a request asks for, each once: `undefined` when it gives none (the client then
 * gets all it may have).
 * @throws OAuthError `invalid_scope` when `scope` is not space-separated scope tokens.
 */
export function readScopes(form: FormParameters): string[] | undefined {
  const scope = form.get('scope');
  if (scope === undefined) return undefined;
  if (!SCOPE.test(scope)) throw new OAuthError('invalid_scope', 'malformed scope');
  return [...new Set(scope.split(' '))];
}

/**
 * The request's form, read under {@link MAX_TOKEN_REQUEST_BYTES}.
 * @throws OAuthError `invalid_request`: another content type (or a repeated one), a malformed
 *   form or a repeated parameter (400), a form past the limit (413).
 */
export async function readForm(framework: FrameworkRequest): Promise<FormParameters> {
  const request = nodeRequestOf(framework);
  const contentType = readSingleHeader(request, 'content-type');
  if (contentType.kind !== 'single' || !isFormContentType(contentType.value)) {
    throw new OAuthError(
      'invalid_request',
      'Content-Type must be application/x-www-form-urlencoded (once)',
    );
  }
  const tooLarge = () =>
    new OAuthError(
      'invalid_request',
      `the form is larger than ${MAX_TOKEN_REQUEST_BYTES} bytes`,
      HttpStatus.PAYLOAD_TOO_LARGE,
    );
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_TOKEN_REQUEST_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_TOKEN_REQUEST_BYTES) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    throw new OAuthError('invalid_request', 'incomplete request body');
  }
  return parseForm(Buffer.concat(chunks));
}

/**
 * The `token` of an introspection or revocation request (RFC 7662, RFC 7009).
 * @throws OAuthError `invalid_request` when it is missing.
 */
export function readToken(form: FormParameters): string {
  const token = form.get('token');
  if (token === undefined) throw new OAuthError('invalid_request', 'token is required');
  return token;
}
