// A static server for the built demo, on loopback, that also answers
// /config.json with the Tenantry server's URL (how the page finds it).

import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
};

/**
 * Serves `dir` on http://host:port (port 0: any free one), listening on
 * 127.0.0.1; `host` is the name in the origin (`localhost` for passkeys,
 * which need a domain). Resolves to { origin, close }.
 */
export function serveDemo({ dir, port = 0, host = '127.0.0.1', tenantryUrl }) {
  const root = path.resolve(dir);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo');
    if (url.pathname === '/config.json') {
      res.writeHead(200, { 'content-type': TYPES['.json'], 'cache-control': 'no-store' });
      return res.end(JSON.stringify({ tenantryUrl }));
    }
    const file = path.join(root, url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname));
    // Nothing outside the folder, whatever the path says.
    if (!file.startsWith(root + path.sep) || !isFile(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: actual } = server.address();
      resolve({ origin: `http://${host}:${actual}`, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

function isFile(file) {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
