// Unit tests of the token interceptor (node --test; no server, no browser):
// createTenantry over an in-memory transport whose fake AuthService issues
// tokens, counts Refresh calls and refuses whatever a test wants refused.

import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { AuthService, TokenPairSchema, type TokenPair } from "../src/gen/tenantry/auth/v1/auth_pb.js";
import { FileService } from "../src/gen/tenantry/file/v1/file_pb.js";
import { OrgService } from "../src/gen/tenantry/org/v1/org_pb.js";
import { createTenantry, memoryStore, TenantryError, type TokenStore } from "../src/index.js";

interface FakeOptions {
  /** Lifetime of issued access tokens, in seconds. */
  lifetime?: number;
  /** Refresh fails with this code. */
  refreshFails?: Code;
  /** Every signed call is refused, whatever its token. */
  refuseAll?: boolean;
}

function fakeServer(options: FakeOptions = {}) {
  const state = {
    refreshCalls: 0,
    /** The authorization header of every signed call, in order. */
    seen: [] as string[],
    /** Access tokens the server accepts. */
    valid: new Set<string>(),
    /** Refresh tokens not spent yet. */
    refreshable: new Set<string>(),
    issued: 0,
  };
  const issue = (): TokenPair => {
    const n = ++state.issued;
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + (options.lifetime ?? 900);
    const accessToken = `h.${Buffer.from(JSON.stringify({ iat, exp, n })).toString("base64url")}.s`;
    state.valid.add(accessToken);
    state.refreshable.add(`rt${n}`);
    return create(TokenPairSchema, {
      accessToken,
      accessTokenExpireTime: timestampFromMs(exp * 1000),
      refreshToken: `rt${n}`,
      sessionId: "session",
    });
  };
  const check = (header: Headers) => {
    const auth = header.get("authorization") ?? "";
    state.seen.push(auth);
    if (options.refuseAll || !state.valid.has(auth.replace(/^Bearer /, ""))) {
      throw new ConnectError("invalid or expired access token", Code.Unauthenticated);
    }
  };
  const routes = createRouterTransport; // (for the type below)
  const register: Parameters<typeof routes>[0] = (router) => {
    router.service(AuthService, {
      async login(_req, ctx) {
        assert.equal(ctx.requestHeader.get("authorization"), null, "a public call carries no token");
        return { tokens: issue() };
      },
      async refresh(req) {
        state.refreshCalls++;
        // Slow enough that concurrent calls overlap it.
        await new Promise((r) => setTimeout(r, 20));
        if (options.refreshFails !== undefined) throw new ConnectError("refresh refused", options.refreshFails);
        if (!state.refreshable.delete(req.refreshToken)) throw new ConnectError("refresh token spent", Code.Unauthenticated);
        return { tokens: issue() };
      },
      async getMe(_req, ctx) {
        check(ctx.requestHeader);
        return { sessionId: "session" };
      },
      async logout(_req, ctx) {
        check(ctx.requestHeader);
        return {};
      },
    });
    router.service(OrgService, {
      async switchOrganization(_req, ctx) {
        check(ctx.requestHeader);
        return { tokens: issue() };
      },
    });
    router.service(FileService, {
      async *download(_req, ctx) {
        check(ctx.requestHeader);
        yield { part: { case: "chunk", value: new Uint8Array([1, 2, 3]) } };
      },
    });
  };
  return { state, issue, register };
}

function setup(options: FakeOptions = {}, store: TokenStore = memoryStore()) {
  const server = fakeServer(options);
  const tenantry = createTenantry({
    baseUrl: "https://api.test",
    tokenStore: store,
    transport: ({ interceptors }) => createRouterTransport(server.register, { transport: { interceptors } }),
  });
  return { ...server, tenantry, store };
}

test("attaches the access token to signed calls, none to public ones", async () => {
  const { tenantry, state } = setup();
  await tenantry.signIn("ann@example.com", "correct horse battery staple");
  await tenantry.auth.getMe({});
  assert.equal(state.seen.length, 1);
  assert.match(state.seen[0]!, /^Bearer h\./);
  assert.equal(state.refreshCalls, 0);
});

test("concurrent calls share one Refresh (a reload with only the refresh token)", async () => {
  const { tenantry, state, store, issue } = setup();
  store.set(issue().refreshToken);
  const answers = await Promise.all(Array.from({ length: 5 }, () => tenantry.auth.getMe({})));
  assert.equal(answers.length, 5);
  assert.equal(state.refreshCalls, 1);
  assert.equal(new Set(state.seen).size, 1, "every call used the one renewed token");
});

test("renews shortly before expiry, before the call", async () => {
  const { tenantry, state } = setup({ lifetime: 30 }); // under the 60 s margin
  await tenantry.signIn("ann@example.com", "correct horse battery staple");
  await tenantry.auth.getMe({});
  assert.equal(state.refreshCalls, 1);
  assert.equal(state.seen.length, 1, "no call was sent with the old token");
});

test("UNAUTHENTICATED: one refresh, then the call is retried once", async () => {
  const { tenantry, state } = setup();
  await tenantry.signIn("ann@example.com", "correct horse battery staple");
  state.valid.clear(); // e.g. the session moved to another organization in another tab
  await tenantry.auth.getMe({});
  assert.equal(state.refreshCalls, 1);
  assert.equal(state.seen.length, 2);
  assert.notEqual(state.seen[0], state.seen[1]);
});

test("concurrent UNAUTHENTICATED answers share one refresh", async () => {
  const { tenantry, state } = setup();
  await tenantry.signIn("ann@example.com", "correct horse battery staple");
  state.valid.clear();
  await Promise.all(Array.from({ length: 5 }, () => tenantry.auth.getMe({})));
  assert.equal(state.refreshCalls, 1);
  assert.equal(state.seen.length, 10);
});

test("a call still refused after the refresh fails without a second retry", async () => {
  const { tenantry, state } = setup({ refuseAll: true });
  await tenantry.signIn("ann@example.com", "correct horse battery staple");
  await assert.rejects(tenantry.auth.getMe({}), (e: unknown) => e instanceof TenantryError && e.code === Code.Unauthenticated);
  assert.equal(state.refreshCalls, 1);
  assert.equal(state.seen.length, 2);
});

test("a refused refresh surfaces its error and clears the tokens", async () => {
  const { tenantry, state, store } = setup({ refreshFails: Code.Unauthenticated });
  await tenantry.signIn("ann@example.com", "correct horse battery staple");
  let changes = 0;
  tenantry.tokens.onChange(() => changes++);
  state.valid.clear();
  await assert.rejects(tenantry.auth.getMe({}), (e: unknown) => {
    assert.ok(e instanceof TenantryError);
    assert.equal(e.code, Code.Unauthenticated);
    assert.equal(e.message, "refresh refused");
    return true;
  });
  assert.equal(state.refreshCalls, 1);
  assert.equal(store.get(), null);
  assert.equal(tenantry.tokens.signedIn, false);
  assert.equal(changes, 1);
});

test("a refresh that cannot reach the server keeps the session", async () => {
  const { tenantry, state, store } = setup({ refreshFails: Code.Unavailable });
  await tenantry.signIn("ann@example.com", "correct horse battery staple");
  state.valid.clear();
  await assert.rejects(tenantry.auth.getMe({}), (e: unknown) => e instanceof TenantryError && e.code === Code.Unavailable);
  assert.notEqual(store.get(), null);
  assert.equal(tenantry.tokens.signedIn, true);
});

test("a server-streaming call is retried after UNAUTHENTICATED too", async () => {
  const { tenantry, state } = setup();
  await tenantry.signIn("ann@example.com", "correct horse battery staple");
  state.valid.clear();
  const chunks = [];
  for await (const res of tenantry.file.download({ fileId: "f" })) chunks.push(res.part.value);
  assert.deepEqual(chunks, [new Uint8Array([1, 2, 3])]);
  assert.equal(state.refreshCalls, 1);
});

test("tokens in an answer (SwitchOrganization) become the session's", async () => {
  const { tenantry, state, store } = setup();
  await tenantry.signIn("ann@example.com", "correct horse battery staple");
  await tenantry.org.switchOrganization({ organizationId: "o" });
  assert.equal(store.get(), "rt2");
  await tenantry.auth.getMe({});
  assert.notEqual(state.seen[1], state.seen[0]);
});

test("signing out ends the session here", async () => {
  const { tenantry, store } = setup();
  await tenantry.signIn("ann@example.com", "correct horse battery staple");
  await tenantry.signOut();
  assert.equal(store.get(), null);
  assert.equal(tenantry.tokens.signedIn, false);
});

test("a refresh token renewed by another tab is picked up", async () => {
  const { tenantry, state, store, issue } = setup();
  await tenantry.signIn("ann@example.com", "correct horse battery staple");
  state.valid.clear();
  // Another tab (same localStorage) spends ours between our read and our call.
  const ours = store.get()!;
  const theirs = issue().refreshToken;
  const original = store.get.bind(store);
  let reads = 0;
  store.get = () => (++reads === 1 ? ours : theirs);
  state.refreshable.delete(ours);
  await tenantry.auth.getMe({});
  store.get = original;
  assert.equal(state.refreshCalls, 2, "ours refused, theirs accepted");
});
