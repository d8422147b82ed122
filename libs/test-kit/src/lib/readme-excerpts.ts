import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { workspaceRoot } from '@zt/stack-launcher';

/** A code block of a README that says which file of the repository it shows. */
export interface ReadmeExcerpt {
  /** The file shown, from the repository's root, e.g. `examples/x/src/main.ts`. */
  readonly source: string;
  /** The region of that file shown (`// #region <name>` ... `// #endregion`), if not all of it. */
  readonly region?: string;
  /** The line of the README where the block starts (1-based). */
  readonly line: number;
  /** The block's text, without its fences. */
  readonly code: string;
}

// `<!-- source: path/to/file.ts -->` or `<!-- source: path/to/file.ts#region -->` just above a block.
const SOURCE_COMMENT = /^<!-- source: ([^\s#]+)(?:#([\w-]+))? -->$/;
const FENCE = /^```(\w*)\s*$/;
const CODE_LANGUAGES: ReadonlySet<string> = new Set(['ts', 'typescript', 'js', 'javascript']);

/**
 * The code blocks of a Markdown file (a path from the repository's root, or absolute) that
 * claim to show a file of the repository, each preceded by a
 * `<!-- source: <path>[#<region>] -->` comment (blank lines may stand between).
 * @throws Error for a TypeScript or JavaScript block without such a comment: every code
 *   example must be a file that is compiled and run somewhere.
 */
export function readmeExcerpts(markdownFile: string): ReadmeExcerpt[] {
  const lines = readFileSync(resolve(workspaceRoot(), markdownFile), 'utf8').split('\n');
  const excerpts: ReadmeExcerpt[] = [];
  let claim: { source: string; region?: string } | undefined;
  for (let i = 0; i < lines.length; i += 1) {
    const comment = SOURCE_COMMENT.exec(lines[i]);
    if (comment) {
      claim = { source: comment[1], region: comment[2] };
      continue;
    }
    const fence = FENCE.exec(lines[i]);
    if (!fence) {
      if (lines[i].trim() !== '') claim = undefined;
      continue;
    }
    const end = lines.findIndex((line, j) => j > i && line.startsWith('```'));
    if (end === -1) throw new Error(`${markdownFile}:${i + 1}: unclosed code block`);
    if (claim) {
      excerpts.push({ ...claim, line: i + 1, code: lines.slice(i + 1, end).join('\n') });
    } else if (CODE_LANGUAGES.has(fence[1])) {
      throw new Error(`${markdownFile}:${i + 1}: a ${fence[1]} block without <!-- source: -->`);
    }
    claim = undefined;
    i = end;
  }
  return excerpts;
}

/**
 * What a README should show of `source` (a path from the repository's root): the whole file
 * without its trailing newline, or the lines between `// #region <region>` and the next
 * `// #endregion`, without the markers.
 */
export function sourceExcerpt(source: string, region?: string): string {
  const text = readFileSync(join(workspaceRoot(), source), 'utf8').replace(/\n$/, '');
  if (region === undefined) return text;
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.trim() === `// #region ${region}`);
  const end = lines.findIndex((line, i) => i > start && line.trim() === '// #endregion');
  if (start === -1 || end === -1) throw new Error(`${source}: no region "${region}"`);
  return lines.slice(start + 1, end).join('\n');
}

/**
 * Every block of a README (a path from the repository's root) that no longer shows what it
 * claims to, as `README.md:12 shows examples/x/src/main.ts` lines; empty when all agree.
 */
export function staleReadmeExcerpts(readme: string): string[] {
  return readmeExcerpts(readme)
    .filter((excerpt) => excerpt.code !== sourceExcerpt(excerpt.source, excerpt.region))
    .map(
      (excerpt) =>
        `${readme}:${excerpt.line} shows ${excerpt.source}` +
        (excerpt.region ? `#${excerpt.region}` : '') +
        ' as it no longer is',
    );
}
