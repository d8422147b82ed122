import { HttpException } from '@nestjs/common';
import type { Request } from 'express';
import { readFilePath } from './file-path';

const pathOf = (originalUrl: string) => readFilePath({ originalUrl } as Request);

function refusal(originalUrl: string): unknown {
  try {
    pathOf(originalUrl);
  } catch (error) {
    if (error instanceof HttpException)
      return { status: error.getStatus(), body: error.getResponse() };
    throw error;
  }
  throw new Error(`expected ${originalUrl} to be refused`);
}

describe(readFilePath.name, () => {
  it.each([
    ['/me/files/notes/a.txt', 'notes/a.txt'],
    ['/me/files/a.txt?x=1&y=/../', 'a.txt'],
    ['/ME/Files/Notes/A.txt', 'Notes/A.txt'],
    ['/me/files/a%20b/%C3%A9t%C3%A9.txt', 'a%20b/%C3%A9t%C3%A9.txt'],
    ['/me/files/...', '...'],
    ['/me/files/.hidden/..x', '.hidden/..x'],
    ['/me/files/100%25', '100%25'],
  ])('keeps %p as the encoded path %p', (url, expected) => {
    expect(pathOf(url)).toBe(expected);
  });

  it.each([
    '/me/files/',
    '/me/files//a',
    '/me/files/a//b',
    '/me/files/a/',
    '/me/files/./a',
    '/me/files/a/../b',
    '/me/files/%2e%2e/b',
    '/me/files/%2E./b',
    '/me/files/a/%2e',
    '/me/files/..%2fother-user%2fa.txt',
    '/me/files/a%2Fb',
    '/me/files/a%5cb',
    '/me/files/a\\b',
    '/me/files/a%00b',
    '/me/files/a%0Ab',
    '/me/files/a%7Fb',
    '/me/files/a%C2%85b',
    '/me/files/a%zz',
    '/me/files/a%E9',
    '/me/files/a#b',
    '/me/files/a b',
    `/me/files/${'a'.repeat(256)}`,
    `/me/files/${Array.from({ length: 206 }, () => 'abcd').join('/')}`,
    '/me/filesx/a',
  ])('refuses %p with 400 invalid file path', (url) => {
    expect(refusal(url)).toEqual({ status: 400, body: { error: 'invalid file path' } });
  });

  it('accepts the longest allowed path and segment', () => {
    const path = ['a'.repeat(255), 'b'.repeat(255), 'c'.repeat(255), 'd'.repeat(254), 'e'].join(
      '/',
    );
    expect(path).toHaveLength(1024);
    expect(pathOf(`/me/files/${path}`)).toBe(path);
  });
});
