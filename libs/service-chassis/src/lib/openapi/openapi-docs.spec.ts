import { keepSlashesInPath } from './openapi-docs';

describe(keepSlashesInPath.name, () => {
  it('sends an encoded slash of the path as a slash, and leaves the rest as Swagger UI made it', () => {
    expect(keepSlashesInPath({ url: 'http://h/me/files/a%2Fb%2fc%20d.txt' }).url).toBe(
      'http://h/me/files/a/b/c%20d.txt',
    );
    expect(keepSlashesInPath({ url: 'http://h/ledger/u%2F1?before=a%2Fb' }).url).toBe(
      'http://h/ledger/u/1?before=a%2Fb',
    );
  });

  it('is self-contained, as Swagger UI runs its source text in the browser', () => {
    const rebuilt = new Function(`return (${keepSlashesInPath.toString()})`)() as (request: {
      url: string;
    }) => { url: string };
    expect(rebuilt({ url: '/x/a%2Fb' }).url).toBe('/x/a/b');
  });
});
