// npm run demo: builds the demo and serves it against a Tenantry server.
//
//   TENANTRY_URL  the server (default http://127.0.0.1:50051)
//   DEMO_PORT     where the demo is served on 127.0.0.1 (default 5173)
//   DEMO_HOST     the host name in its origin (default 127.0.0.1; `localhost`
//                 turns on passkeys, which need a domain)
//
// The server must allow the demo's origin:
//   cargo run -p tenantry-server -- --cors-origin http://127.0.0.1:5173

import { buildDemo } from './build.mjs';
import { serveDemo } from './serve.mjs';

const tenantryUrl = process.env.TENANTRY_URL || 'http://127.0.0.1:50051';
const port = Number(process.env.DEMO_PORT || 5173);

const dir = await buildDemo();
const { origin } = await serveDemo({ dir, port, host: process.env.DEMO_HOST || '127.0.0.1', tenantryUrl });
console.log(`Tenantry demo: ${origin}  (talking to ${tenantryUrl})
The server must allow this origin, e.g.
  cargo run -p tenantry-server -- --cors-origin ${origin}
Ctrl-C stops it.`);
