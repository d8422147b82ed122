import { workspaceRoot } from '@zt/test-kit';
import { ESLint } from 'eslint';
import { join } from 'node:path';

const BOUNDARIES = '@nx/enforce-module-boundaries';

/**
 * The module-boundary errors ESLint reports for `code` as if it were `file` of `project`: the
 * project's own ESLint configuration (the repository's rules and tags), run on text, so no
 * file is written. Type information is left out: the boundary rule needs none.
 */
async function boundaryErrors(project: string, file: string, code: string): Promise<string[]> {
  const cwd = join(workspaceRoot(), project);
  const eslint = new ESLint({
    cwd,
    overrideConfig: [
      { files: ['**/*.ts'], languageOptions: { parserOptions: { projectService: false } } },
    ],
    ruleFilter: ({ ruleId }) => ruleId === BOUNDARIES,
  });
  const [result] = await eslint.lintText(code, { filePath: join(cwd, file) });
  return result.messages.map((message) => `${message.ruleId ?? 'parser'}: ${message.message}`);
}

const importOf = (lib: string) => `import * as lib from '${lib}';\nexport const used = lib;\n`;
const REFUSED =
  /^@nx\/enforce-module-boundaries: A project tagged with "[\w:-]+" can only depend on libs tagged with/;

describe('lint keeps each import where the tags allow it (root eslint.config.mjs)', () => {
  it.each([
    ['apps/billing-server', 'src/billing/probe.ts'],
    ['libs/service-chassis', 'src/lib/probe.ts'],
    ['examples/trust-kit-adopter', 'src/orders/probe.ts'],
  ])('refuses @zt/test-kit in production code: %s %s', async (project, file) => {
    const errors = await boundaryErrors(project, file, importOf('@zt/test-kit'));
    expect(errors).toEqual([expect.stringMatching(REFUSED)]);
  });

  it.each([
    ['apps/billing-server', 'src/billing/probe.spec.ts'],
    ['apps/billing-server', 'test/probe.e2e-spec.ts'],
    ['libs/service-chassis', 'src/testing/probe.ts'],
    ['examples/trust-kit-adopter', 'test/probe.e2e-spec.ts'],
  ])('allows @zt/test-kit in test code: %s %s', async (project, file) => {
    expect(await boundaryErrors(project, file, importOf('@zt/test-kit'))).toEqual([]);
  });

  it('lets the trust-kit sample import the trust kit, and nothing else of ours', async () => {
    const project = 'examples/trust-kit-adopter';
    expect(await boundaryErrors(project, 'src/probe.ts', importOf('@zt/service-utils'))).toEqual(
      [],
    );
    for (const lib of ['@zt/service-chassis', '@zt/database']) {
      expect(await boundaryErrors(project, 'src/probe.ts', importOf(lib))).toEqual([
        expect.stringContaining(
          '"adopts:trust-kit" can only depend on libs tagged with "kit:trust"',
        ),
      ]);
    }
  });

  it('keeps the trust kit standing alone: it imports no other library of ours', async () => {
    for (const lib of ['@zt/service-chassis', '@zt/database', '@zt/test-kit']) {
      const errors = await boundaryErrors('libs/service-utils', 'src/lib/probe.ts', importOf(lib));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^@nx\/enforce-module-boundaries: /);
    }
  });
});
