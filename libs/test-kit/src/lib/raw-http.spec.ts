import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { rawRequest } from './http-client';
import { sendRaw } from './raw-http';

describe(sendRaw.name, () => {
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    // Echoes what arrived on the wire: the target as written and the header lines as sent.
    server = createServer((incoming, outgoing) => {
      const parts: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => parts.push(chunk));
      incoming.on('end', () => {
        outgoing.setHeader('content-type', 'application/json');
        outgoing.end(
          JSON.stringify({
            method: incoming.method,
            url: incoming.url,
            rawHeaders: incoming.rawHeaders,
            body: Buffer.concat(parts).toString('utf8'),
          }),
        );
      });
    });
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((closed) => server.close(closed));
  });

  it('sends the target as written and repeated headers repeated', async () => {
    const sut = await sendRaw(baseUrl, {
      method: 'POST',
      path: '/a/../b/%2e%2e//c%2Fd?x=1',
      headers: ['X-A', '1', 'x-a', '2'],
      body: 'hello',
    });
    expect(sut.status).toBe(200);
    expect(sut.body).toMatchObject({
      method: 'POST',
      url: '/a/../b/%2e%2e//c%2Fd?x=1',
      body: 'hello',
    });
    expect((sut.body as { rawHeaders: string[] }).rawHeaders).toEqual(
      expect.arrayContaining(['X-A', '1', 'x-a', '2', 'Content-Length', '5']),
    );
  });

  it('sends chunks with Transfer-Encoding: chunked', async () => {
    const sut = await sendRaw(baseUrl, {
      method: 'PUT',
      path: '/up',
      chunks: [Buffer.from('ab'), Buffer.from('cd')],
    });
    expect(sut.body).toMatchObject({ body: 'abcd' });
    expect((sut.body as { rawHeaders: string[] }).rawHeaders).toEqual(
      expect.arrayContaining(['Transfer-Encoding', 'chunked']),
    );
  });

  it('backs rawRequest, which sends the path of its URL as written too', async () => {
    const sut = await rawRequest(`${baseUrl}/a/%2e%2e/../b`, { rawHeaders: ['X-A', '1'] });
    expect(sut.status).toBe(200);
    expect(sut.headers).toBeInstanceOf(Headers);
    expect(sut.headers.get('content-type')).toBe('application/json');
    expect(sut.body).toMatchObject({ method: 'GET', url: '/a/%2e%2e/../b' });
    expect((await rawRequest(`${baseUrl}?q=1`, { rawHeaders: [] })).body).toMatchObject({
      url: '/?q=1',
    });
  });
});
