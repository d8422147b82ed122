/** How a service describes its API in OpenAPI, and where (if anywhere) it serves the docs. */
export interface OpenApiOptions {
  /** The document's title, e.g. `billing-server`. */
  readonly title: string;
  /** What the service is for, in a sentence or two. */
  readonly description: string;
  /** The API's version (default `1`). */
  readonly version?: string;
  /**
   * What a route that is neither public nor `@InternalOnly()` needs: `internal-token` (the
   * `X-INTERNAL-TOKEN` header, internal services) or `bearer` (a user access token, the backend).
   */
  readonly auth: 'internal-token' | 'bearer';
  /**
   * Where the service serves Swagger UI (and the document at `<docsPath>/openapi.json`),
   * without credential; absent for internal services, which serve no docs on their ports.
   */
  readonly docsPath?: string;
}

/** Name of the security scheme of the internal credential in the documents. */
export const INTERNAL_TOKEN_SECURITY = 'internal-token';
/** Name of the security scheme of user access tokens in the documents. */
export const BEARER_SECURITY = 'bearer';
/** The security scheme of `@ScrapeOnly()` routes: the read-only scrape credential as a bearer. */
export const METRICS_TOKEN_SECURITY = 'metrics-token';
