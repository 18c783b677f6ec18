// A person with a passkey: headless Chromium (driven by playwright-core) on a
// page of http://localhost:<port> (a secure context, so WebAuthn is on), with
// Chromium's virtual authenticator (CDP `WebAuthn.addVirtualAuthenticator`:
// CTAP2, built in, resident keys, user verification that succeeds). The
// page runs the real WebAuthn calls on the options the server wrote.
//
// Protocol (one JSON object per line):
//   out, first: {"origin": "http://localhost:<port>"}
//   in:  {"create": "<options JSON>"} | {"get": "<options JSON>"}
//        (options as the server wrote them: {"publicKey": {...}, ...})
//   out: {"credential": "<credential.toJSON() as JSON>"} or {"error": "..."}

import http from 'node:http';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const server = http.createServer((_, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<!doctype html><title>app</title>');
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://localhost:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.TENANTRY_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox'],
});
const page = await browser.newPage();
await page.goto(origin);
const cdp = await page.context().newCDPSession(page);
await cdp.send('WebAuthn.enable');
await cdp.send('WebAuthn.addVirtualAuthenticator', {
  options: {
    protocol: 'ctap2',
    transport: 'internal',
    hasResidentKey: true,
    hasUserVerification: true,
    isUserVerified: true,
    automaticPresenceSimulation: true,
  },
});
process.stdout.write(JSON.stringify({ origin }) + '\n');

// Runs in the page: what a web app does with the server's options.
async function ceremony({ create, get }) {
  try {
    if (create) {
      const { publicKey } = JSON.parse(create);
      const options = PublicKeyCredential.parseCreationOptionsFromJSON(publicKey);
      const credential = await navigator.credentials.create({ publicKey: options });
      return { credential: JSON.stringify(credential.toJSON()) };
    }
    const { publicKey } = JSON.parse(get);
    const options = PublicKeyCredential.parseRequestOptionsFromJSON(publicKey);
    const credential = await navigator.credentials.get({ publicKey: options });
    return { credential: JSON.stringify(credential.toJSON()) };
  } catch (e) {
    return { error: `${e.name}: ${e.message}` };
  }
}

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  let reply;
  try {
    reply = await page.evaluate(ceremony, JSON.parse(line));
  } catch (e) {
    reply = { error: `the page failed: ${e}` };
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
}
await browser.close();
process.exit(0);
