import type { IncomingMessage, ServerResponse } from 'node:http';
import { REQUEST_ID_HEADER, resolveRequestId } from './request-id';

function requestWith(rawHeaders: string[]): IncomingMessage {
  return { rawHeaders } as unknown as IncomingMessage;
}

function responseRecorder(): ServerResponse & { headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  return {
    headers,
    headersSent: false,
    setHeader(name: string, value: string) {
      headers[name] = value;
    },
  } as unknown as ServerResponse & { headers: Record<string, string> };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe(resolveRequestId.name, () => {
  it.each([
    ['a UUID', '0f7e2b8c-3f7e-4b1a-9c2d-5e6f7a8b9c0d'],
    ['letters, digits, dots, underscores and dashes', 'trace_01.abc-XYZ'],
    ['128 characters', 'a'.repeat(128)],
  ])('keeps %s, and echoes it in the answer', (_label, id) => {
    const response = responseRecorder();
    expect(resolveRequestId(requestWith([REQUEST_ID_HEADER, id]), response)).toBe(id);
    expect(response.headers[REQUEST_ID_HEADER]).toBe(id);
  });

  it.each([
    ['missing', []],
    ['empty', ['x-request-id', '']],
    ['too long', ['x-request-id', 'a'.repeat(129)]],
    ['with a space', ['x-request-id', 'a b']],
    ['with a quote (a forged log field)', ['x-request-id', 'a","level":"fatal']],
    ['with a line break', ['x-request-id', 'a\nb']],
    ['repeated', ['x-request-id', 'one', 'X-Request-ID', 'two']],
  ])('replaces one that is %s with a new UUID', (_label, rawHeaders) => {
    const response = responseRecorder();
    const id = resolveRequestId(requestWith(rawHeaders), response);
    expect(id).toMatch(UUID);
    expect(response.headers[REQUEST_ID_HEADER]).toBe(id);
  });

  it('decides once per request: later calls agree with the first', () => {
    const request = requestWith([]);
    const first = resolveRequestId(request, responseRecorder());
    expect(resolveRequestId(request)).toBe(first);
    expect(resolveRequestId(request, responseRecorder())).toBe(first);
  });
});
