// Bundles the demo app with esbuild: demo/main.ts → <outdir>/app.js, next to
// a copy of index.html and style.css. `node scripts/build.mjs [outdir]`
// (default demo/dist, which is not committed).

import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const defaultOutdir = path.join(webDir, 'demo/dist');

export async function buildDemo(outdir = defaultOutdir) {
  mkdirSync(outdir, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(webDir, 'demo/main.ts')],
    outfile: path.join(outdir, 'app.js'),
    bundle: true,
    format: 'esm',
    target: 'es2022',
    sourcemap: true,
    minify: true,
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'style.css']) copyFileSync(path.join(webDir, 'demo', file), path.join(outdir, file));
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outdir = await buildDemo(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  console.log(`built the demo into ${outdir}`);
}
