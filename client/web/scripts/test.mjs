// npm test: the unit tests (test/*.test.ts) under node's test runner. Node 20
// cannot run TypeScript, so esbuild compiles them first (into .build/test,
// emptied each time so a removed test does not linger).

import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(webDir, '.build/test');
rmSync(outdir, { recursive: true, force: true });
const tests = readdirSync(path.join(webDir, 'test')).filter((f) => f.endsWith('.test.ts'));
await esbuild.build({
  entryPoints: tests.map((f) => path.join(webDir, 'test', f)),
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  logLevel: 'warning',
});
const run = spawnSync(process.execPath, ['--test', ...tests.map((f) => path.join(outdir, f.replace(/\.ts$/, '.mjs')))], {
  cwd: webDir,
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
