import baseConfig, { packageJsonChecks } from '../../eslint.config.mjs';

// The kit's package.json names exactly what its code needs: Nest's common and core, nothing
// else (lint fails when the kit starts importing a logger, metrics, ...). Express is imported
// for its Request type only; nothing of Express runs in the kit.
export default [...baseConfig, packageJsonChecks({ ignoredDependencies: ['express'] })];
