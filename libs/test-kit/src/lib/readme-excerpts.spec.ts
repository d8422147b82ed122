import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readmeExcerpts, sourceExcerpt } from './readme-excerpts';

describe(readmeExcerpts.name, () => {
  const folder = mkdtempSync(join(tmpdir(), 'readme-excerpts-'));
  const markdown = (text: string) => {
    const file = join(folder, `${Math.random().toString(36).slice(2)}.md`);
    writeFileSync(file, text);
    return file;
  };

  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('reads the blocks that name their source, with region and line', () => {
    const sut = markdown(
      '# t\n\n<!-- source: a/b.ts#boot -->\n\n```ts\nconst a = 1;\n```\n\n```sh\nnpm test\n```\n',
    );
    expect(readmeExcerpts(sut)).toEqual([
      { source: 'a/b.ts', region: 'boot', line: 5, code: 'const a = 1;' },
    ]);
  });

  it('refuses a TypeScript block that names no source: every example must be compiled somewhere', () => {
    const sut = markdown('<!-- source: a.ts -->\n\nSome text.\n\n```ts\nconst a = 1;\n```\n');
    expect(() => readmeExcerpts(sut)).toThrow(/:5: a ts block without <!-- source: -->$/);
  });
});

describe(sourceExcerpt.name, () => {
  it('gives a whole file, and refuses a region the file does not have', () => {
    const file = 'libs/test-kit/src/lib/readme-excerpts.spec.ts';
    expect(sourceExcerpt(file).split('\n')[0]).toBe(
      "import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';",
    );
    expect(() => sourceExcerpt(file, 'missing')).toThrow(`${file}: no region "missing"`);
  });
});
