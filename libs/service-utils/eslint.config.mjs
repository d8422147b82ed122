import jsoncParser from 'jsonc-eslint-parser';
import baseConfig from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  {
    // The kit's package.json names exactly what its code needs: Nest's common and core,
    // nothing else (lint fails when the kit starts importing a logger, metrics, ...).
    files: ['**/*.json'],
    languageOptions: { parser: jsoncParser },
    rules: {
      '@nx/dependency-checks': [
        'error',
        {
          ignoredFiles: ['{projectRoot}/eslint.config.mjs', '{projectRoot}/**/*.spec.ts'],
          // A type-only import (Express's Request); nothing of Express runs in the kit.
          ignoredDependencies: ['express'],
          checkMissingDependencies: true,
          checkObsoleteDependencies: true,
          checkVersionMismatches: true,
          includeTransitiveDependencies: false,
          // The rule runs only for projects with one of these targets; the kit is not built alone.
          buildTargets: ['test'],
        },
      ],
    },
  },
];
