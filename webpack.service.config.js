// The one build recipe of every service: `apps/<name>/webpack.config.js` calls it with its
// own folder, and the bundle lands in `dist/apps/<name>/main.js` (what npm start, the
// end-to-end tests and the Dockerfile run), with a package.json of its runtime dependencies.
// The adoption examples use it too (`examples/<name>` -> `dist/examples/<name>/main.js`).
const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join, relative } = require('path');

module.exports = function serviceWebpackConfig(projectDir) {
  return {
    output: {
      path: join(__dirname, 'dist', relative(__dirname, projectDir)),
      clean: true,
      ...(process.env.NODE_ENV !== 'production' && {
        devtoolModuleFilenameTemplate: '[absolute-resource-path]',
      }),
    },
    plugins: [
      new NxAppWebpackPlugin({
        target: 'node',
        compiler: 'tsc',
        main: './src/main.ts',
        tsConfig: './tsconfig.app.json',
        assets: [],
        optimization: false,
        outputHashing: 'none',
        generatePackageJson: true,
        // tsc's importHelpers makes every bundle require tslib, which Nx does not list on its own.
        runtimeDependencies: ['tslib'],
        sourceMap: true,
      }),
    ],
  };
};
