import { keepSlashesInPath } from '@zt/service-chassis';
import { request, testBackends } from '@zt/test-kit';
import { BackendStack } from './backend-stack';

interface Operation {
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, unknown>;
}

/** The backend's interactive API docs (/docs), against the four services as processes. */
describe.each(testBackends())('the interactive API docs (/docs), on %s', (database) => {
  const sut = BackendStack.forSuite(database);
  let paths: Record<string, Record<string, Operation>>;

  beforeAll(async () => {
    const document = await request(`${sut.api}/docs/openapi.json`);
    expect(document.status).toBe(200);
    paths = (document.body as { paths: typeof paths }).paths;
  });

  it('declares the file path parameter, and the raw body of a write', () => {
    for (const method of ['get', 'put', 'delete']) {
      expect(paths['/me/files/{path}'][method].parameters).toContainEqual(
        expect.objectContaining({ name: 'path', in: 'path', required: true }),
      );
    }
    expect(paths['/me/files/{path}']['put'].requestBody?.content).toHaveProperty(
      'application/octet-stream',
    );
  });

  it('answers "Try it out" as documented: the request Swagger UI builds, through its interceptor', async () => {
    // Swagger UI encodes the whole parameter; the docs page sends "/" back as "/".
    const url = keepSlashesInPath({
      url: `${sut.api}/me/files/${encodeURIComponent('docs/try it.txt')}`,
    }).url;
    expect(url).toBe(`${sut.api}/me/files/docs/try%20it.txt`);
    const documented = (method: string) => Object.keys(paths['/me/files/{path}'][method].responses);
    const reader = await sut.signUp('free', `docs-${database}`);

    const written = await sut.call(reader, url.slice(sut.api.length), {
      method: 'PUT',
      body: 'from the docs page',
    });
    expect(written.status).toBe(201);
    expect(documented('put')).toContain(String(written.status));
    const read = await sut.call(reader, url.slice(sut.api.length));
    expect(read).toMatchObject({ status: 200, body: 'from the docs page' });
    expect(documented('get')).toContain(String(read.status));
    const removed = await sut.call(reader, url.slice(sut.api.length), { method: 'DELETE' });
    expect(removed.status).toBe(204);
    expect(documented('delete')).toContain(String(removed.status));
    // The page itself runs that interceptor.
    const init = await request(`${sut.api}/docs/swagger-ui-init.js`);
    expect(String(init.body)).toContain('requestInterceptor');
    expect(String(init.body)).toContain('%2F');
  });
});
