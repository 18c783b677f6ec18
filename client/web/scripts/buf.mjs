// Runs buf from the repository root (where buf.yaml and buf.gen.yaml are).
// buf itself comes with the repository's test tools (tests/node, the same
// pinned version CI lints with); BUF=/path/to/buf overrides it.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const repoRoot = path.resolve(webDir, '../..');

export function buf(args) {
  const bin = process.env.BUF || path.join(repoRoot, 'tests/node/node_modules/@bufbuild/buf-linux-x64/bin/buf');
  if (!existsSync(bin)) {
    throw new Error(`buf not found at ${bin}: run \`npm ci\` in tests/node, or set BUF=/path/to/buf`);
  }
  const plugin = path.join(webDir, 'node_modules/.bin/protoc-gen-es');
  if (!existsSync(plugin)) throw new Error(`${plugin} is missing: run \`npm ci\` in client/web`);
  const run = spawnSync(bin, args, { cwd: repoRoot, stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`buf ${args.join(' ')} failed (exit ${run.status ?? run.signal})`);
}
