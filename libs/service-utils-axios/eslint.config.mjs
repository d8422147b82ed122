import baseConfig, { packageJsonChecks } from '../../eslint.config.mjs';

// The adapter's package.json names exactly what its code needs: axios and the trust kit.
// @nestjs/axios appears in its tests only: a team that uses it brings it.
export default [...baseConfig, packageJsonChecks()];
