import baseConfig, { packageJsonChecks } from '../../eslint.config.mjs';

// The kit's package.json names exactly what its code needs: Nest's common and core, nothing
// else (lint fails when the kit starts importing a logger, metrics, ...). Express and Fastify
// are imported for their types only (optional peer dependencies of the Express middleware and
// the Fastify hook); nothing of either runs in the kit. Nest's two HTTP adapters are imported
// by the kit's tests only (src/testing/http-adapters.ts), which run on both.
export default [
  ...baseConfig,
  packageJsonChecks({
    ignoredDependencies: [
      'express',
      'fastify',
      '@nestjs/platform-express',
      '@nestjs/platform-fastify',
    ],
  }),
];
