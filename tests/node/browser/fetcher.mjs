// A real browser for the grpc-web tests: headless Chromium (driven by
// playwright-core) with two pages on two loopback origins, doing `fetch` calls
// the Rust test asks for. The browser enforces CORS exactly as for a real web
// app; the test encodes and decodes the protobuf messages itself.
//
// Protocol (one JSON object per line):
//   out, first: {"app": "<origin>", "other": "<origin>"}
//   in:  {"origin": "app"|"other", "url": "...", "headers": {...}, "body": "<base64>"}
//   out: {"error": "<message>"} when fetch itself failed (as CORS refusals do),
//        else {"status": 200, "headers": {...readable ones...}, "body": "<base64>"}

import http from 'node:http';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const executablePath = process.env.TENANTRY_CHROMIUM || '/usr/bin/chromium';

// An empty page per origin: the browser needs a document of that origin to
// send requests from.
async function origin() {
  const server = http.createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>app</title>');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

const origins = { app: await origin(), other: await origin() };
const browser = await chromium.launch({
  executablePath,
  headless: true,
  // Root in a container has no user namespace for the sandbox. Extra flags
  // (JSON array) come from the test, e.g. the SPKI of a test certificate.
  args: ['--no-sandbox', ...JSON.parse(process.env.TENANTRY_CHROMIUM_ARGS || '[]')],
});
const pages = {};
for (const [name, url] of Object.entries(origins)) {
  pages[name] = await browser.newPage();
  await pages[name].goto(url);
}
process.stdout.write(JSON.stringify(origins) + '\n');

// Runs in the page: a plain browser fetch, the way grpc-web clients do it.
async function pageFetch({ url, headers, body }) {
  const bytes = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  let response;
  try {
    response = await fetch(url, { method: 'POST', headers, body: bytes });
  } catch (e) {
    return { error: String(e) };
  }
  const readable = {};
  response.headers.forEach((value, name) => {
    readable[name] = value;
  });
  const answer = new Uint8Array(await response.arrayBuffer());
  let binary = '';
  for (const b of answer) binary += String.fromCharCode(b);
  return { status: response.status, headers: readable, body: btoa(binary) };
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const call = JSON.parse(line);
  let reply;
  try {
    reply = await pages[call.origin].evaluate(pageFetch, call);
  } catch (e) {
    reply = { error: `the page failed: ${e}` };
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
}
await browser.close();
process.exit(0);
