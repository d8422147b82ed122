// Builds the benchmark's Nest fixtures (bench/src) the way the services are built, into
// dist/bench: guard-server.js, nest-hello.js, client-loop.js, and allocation-probe.js (a
// preload, not a fixture). The runner (run.ts) and the plain-Node fixtures (fixtures/*.ts)
// need no build: tsx runs them.
const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('path');

module.exports = {
  // Every entry is named below (webpack would otherwise add its default `main: ./src`).
  entry: {},
  output: {
    path: join(__dirname, '../dist/bench'),
    clean: true,
  },
  plugins: [
    new NxAppWebpackPlugin({
      target: 'node',
      compiler: 'tsc',
      main: './src/guard-server.ts',
      outputFileName: 'guard-server.js',
      additionalEntryPoints: [
        { entryName: 'nest-hello', entryPath: './src/nest-hello.ts' },
        { entryName: 'client-loop', entryPath: './src/client-loop.ts' },
        { entryName: 'allocation-probe', entryPath: './src/allocation-probe.ts' },
      ],
      tsConfig: './tsconfig.app.json',
      assets: [],
      optimization: false,
      outputHashing: 'none',
      generatePackageJson: false,
      sourceMap: true,
    }),
  ],
};
