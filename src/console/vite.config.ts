import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

const here = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));

// Builds the web console SPA (src/console/app) into dist/console, served by Herald at /console/.
// eslint-disable-next-line no-restricted-syntax -- Vite loads the default export.
export default defineConfig({
  root: here('./app'),
  base: '/console/',
  plugins: [preact()],
  logLevel: 'warn',
  build: { outDir: here('../../dist/console'), emptyOutDir: true, sourcemap: false, target: 'es2022' },
});
