import baseConfig, { packageJsonChecks } from '../../eslint.config.mjs';

// The kit's package.json names exactly what its code needs: Nest's common and core, nothing
// else (lint fails when the kit starts importing a logger, metrics, ...). Express and Fastify
// are imported for their types only (optional peer dependencies of the Express middleware and
// the Fastify hook); nothing of either runs in the kit.
export default [...baseConfig, packageJsonChecks({ ignoredDependencies: ['express', 'fastify'] })];
