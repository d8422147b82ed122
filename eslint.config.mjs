import nx from '@nx/eslint-plugin';

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
 * (`type:test`, e.g. test-kit) stay out of production code.
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
      ],
    },
  ];
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
];
