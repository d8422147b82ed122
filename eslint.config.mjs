import nx from '@nx/eslint-plugin';
import jsoncParser from 'jsonc-eslint-parser';

// Files that only tests load: never part of a built service.
const TEST_FILES = [
  '**/*.spec.ts',
  '**/*.e2e-spec.ts',
  '**/test/**/*.ts',
  '**/src/testing/**/*.ts',
  '**/jest.config.cts',
  '**/jest.e2e.config.cts',
];

/**
 * Apps may use shared libs and nothing else; libs never reach into apps; test-only libraries
 * (`type:test`, e.g. test-kit) stay out of production code. The libraries teams adopt (`kit:*`)
 * build on nothing but the trust kit (the chassis also on the contracts), and the adoption
 * examples (`examples/`, `adopts:*`) may use only what they show a team adopting.
 */
function moduleBoundaries({ testCode }) {
  // Only direct imports are checked: a lib's own specs may use test-kit without tainting it.
  const testOnly = testCode ? ['type:test'] : [];
  return [
    'error',
    {
      enforceBuildableLibDependency: true,
      banTransitiveDependencies: true,
      // Shared tool configuration at the root, not code: the ESLint and webpack recipes.
      allow: [
        '^.*/eslint(\\.base)?\\.config\\.[cm]?[jt]s$',
        '^.*/webpack\\.service\\.config\\.js$',
      ],
      depConstraints: [
        {
          sourceTag: 'type:app',
          onlyDependOnLibsWithTags: ['type:util', 'type:data', ...testOnly],
        },
        {
          sourceTag: 'type:util',
          onlyDependOnLibsWithTags: ['type:util', ...testOnly],
        },
        {
          sourceTag: 'type:data',
          onlyDependOnLibsWithTags: ['type:util', 'type:data', ...testOnly],
        },
        { sourceTag: 'type:test', onlyDependOnLibsWithTags: ['type:util', 'type:test'] },
        { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:util', 'type:test'] },
        { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
        { sourceTag: 'scope:auth', onlyDependOnLibsWithTags: ['scope:auth', 'scope:shared'] },
        {
          sourceTag: 'scope:billing',
          onlyDependOnLibsWithTags: ['scope:billing', 'scope:shared'],
        },
        {
          sourceTag: 'scope:filesystem',
          onlyDependOnLibsWithTags: ['scope:filesystem', 'scope:shared'],
        },
        {
          sourceTag: 'scope:backend',
          onlyDependOnLibsWithTags: ['scope:backend', 'scope:shared'],
        },
        // The trust kit stands alone; the chassis and the axios adapter build on it only.
        { sourceTag: 'kit:trust', onlyDependOnLibsWithTags: [...testOnly] },
        { sourceTag: 'kit:contracts', onlyDependOnLibsWithTags: ['kit:trust', ...testOnly] },
        {
          sourceTag: 'kit:chassis',
          onlyDependOnLibsWithTags: ['kit:trust', 'kit:contracts', ...testOnly],
        },
        { sourceTag: 'kit:axios', onlyDependOnLibsWithTags: ['kit:trust', ...testOnly] },
        // Nothing depends on an example; each example imports exactly what it adopts.
        { sourceTag: 'scope:examples', onlyDependOnLibsWithTags: ['scope:shared'] },
        { sourceTag: 'adopts:trust-kit', onlyDependOnLibsWithTags: ['kit:trust', ...testOnly] },
        {
          sourceTag: 'adopts:chassis',
          onlyDependOnLibsWithTags: ['kit:trust', 'kit:contracts', 'kit:chassis', ...testOnly],
        },
      ],
    },
  ];
}

/**
 * For a library that teams install on its own (the trust kit and its adapters): its
 * package.json must name exactly what its code imports, no more, no less, so that lint fails
 * when the library starts importing something new (`@nx/dependency-checks` on package.json).
 * Spread it into the library's own eslint.config.mjs.
 */
export function packageJsonChecks({ ignoredDependencies = [] } = {}) {
  return {
    files: ['**/*.json'],
    languageOptions: { parser: jsoncParser },
    rules: {
      '@nx/dependency-checks': [
        'error',
        {
          ignoredFiles: ['{projectRoot}/eslint.config.mjs', '{projectRoot}/**/*.spec.ts'],
          ignoredDependencies,
          checkMissingDependencies: true,
          checkObsoleteDependencies: true,
          checkVersionMismatches: true,
          includeTransitiveDependencies: false,
          // The rule runs only for projects with one of these targets; such a lib is not built alone.
          buildTargets: ['test'],
        },
      ],
    },
  };
}

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  { ignores: ['**/dist', '**/out-tsc', '**/coverage', '**/data'] },
  {
    files: ['**/*.ts', '**/*.js'],
    rules: { '@nx/enforce-module-boundaries': moduleBoundaries({ testCode: false }) },
  },
  {
    // Tests, and helpers only tests import, may use test-only libraries (type:test).
    files: TEST_FILES,
    rules: { '@nx/enforce-module-boundaries': moduleBoundaries({ testCode: true }) },
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        // Nest reads constructor parameter types at run time: those imports must stay values.
        { prefer: 'type-imports', fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Configuration is read and validated once, at boot, in a config/ folder; everything else
    // receives it typed (DESIGN section 3).
    files: ['**/*.ts'],
    ignores: ['**/config/**', ...TEST_FILES],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read the environment in a config/ folder, validated once at boot.',
        },
      ],
    },
  },
];
