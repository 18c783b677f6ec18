// Runs an interop script of test/interop/ (TypeScript, compiled by esbuild
// into .build/interop) with node: `node test/interop.mjs node_http1`.
// The Rust API tests call it with TENANTRY_URL set to a server they started.

import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const name = process.argv[2];
if (!name) {
  console.error('usage: node test/interop.mjs <script name in test/interop>');
  process.exit(2);
}
const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outfile = path.join(webDir, '.build/interop', `${name}.mjs`);
await esbuild.build({
  entryPoints: [path.join(webDir, 'test/interop', `${name}.ts`)],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  logLevel: 'warning',
});
await import(pathToFileURL(outfile).href);
