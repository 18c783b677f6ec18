// npm run generate: regenerates src/gen from proto/ and proto-vendor/ with
// the repository's buf.gen.yaml (which empties src/gen first).

import { buf } from './buf.mjs';

try {
  buf(['generate']);
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
