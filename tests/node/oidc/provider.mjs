// A real, certified OpenID provider (oidc-provider) for Tenantry's SSO tests,
// on loopback. Prints `listening <port>` once it serves; the issuer is
// http://127.0.0.1:<port>.
//
// Test accounts sign in through the provider's own login and consent forms
// (devInteractions): the login name is the account id below, any password.
// Two confidential clients: `tenantry`, and `tenantry-tampered`, whose token
// responses carry an ID token altered after signing (to prove the relying
// party checks signatures).

import http from 'node:http';
import Provider from 'oidc-provider';

const ACCOUNTS = {
  'alice@acme.test': { email: 'alice@acme.test', email_verified: true, name: 'Alice Admin', groups: ['engineering', 'admins'] },
  'bob@acme.test': { email: 'bob@acme.test', email_verified: true, name: 'Bob Builder', groups: ['engineering'] },
  'olga@acme.test': { email: 'olga@acme.test', email_verified: true, name: 'Olga Owner', groups: ['owners'] },
  'carol@acme.test': { email: 'carol@acme.test', email_verified: false, name: 'Carol Unverified', groups: [] },
  'eve@evilacme.test': { email: 'eve@evilacme.test', email_verified: true, name: 'Eve', groups: ['admins'] },
  'dan@sub.acme.test': { email: 'dan@sub.acme.test', email_verified: true, name: 'Dan', groups: [] },
  'member@acme.test': { email: 'member@acme.test', email_verified: true, name: 'Mem Ber', groups: [] },
  'outsider@acme.test': { email: 'outsider@acme.test', email_verified: true, name: 'Out Sider', groups: [] },
  // Some providers send email_verified as a JSON string.
  'stringy@acme.test': { email: 'stringy@acme.test', email_verified: 'true', name: 'String Y', groups: [] },
  'stringno@acme.test': { email: 'stringno@acme.test', email_verified: 'false', name: 'String No', groups: [] },
};

const REDIRECT_URIS = ['http://127.0.0.1:9/callback', 'http://127.0.0.1:9/other'];

const client = (client_id) => ({
  client_id,
  client_secret: 'tenantry-test-secret',
  redirect_uris: REDIRECT_URIS,
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
});

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [client('tenantry'), client('tenantry-tampered')],
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // Put the requested claims in the ID token too (real providers differ;
  // Tenantry also asks the userinfo endpoint when the ID token lacks them).
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['tenantry-test-cookie-key'] },
  async findAccount(_ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...account };
      },
    };
  },
});

// For `tenantry-tampered`: change the ID token's payload after signing.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && ctx.body && ctx.body.id_token && ctx.oidc?.client?.clientId === 'tenantry-tampered') {
    const [header, payload, signature] = ctx.body.id_token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    claims.email = 'attacker@acme.test';
    const forged = Buffer.from(JSON.stringify(claims)).toString('base64url');
    ctx.body = { ...ctx.body, id_token: `${header}.${forged}.${signature}` };
  }
});

server.on('request', provider.callback());
process.stdout.write(`listening ${port}\n`);
