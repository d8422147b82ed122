import type { ServerResponse } from 'node:http';

/**
 * Answers a request that is refused before routing with a fixed JSON body, and closes the
 * connection: the request's body, if any, is not read.
 */
export function refuseEarly(response: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    Connection: 'close',
  });
  response.end(text);
}
