// The interceptor that signs calls with the session's access token, renews
// it shortly before it expires, and once more when the server refuses it.

import type { Message } from "@bufbuild/protobuf";
import {
  Code,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import type { TokenPair } from "./gen/tenantry/auth/v1/auth_pb.js";
import { codeOf } from "./errors.js";
import type { TokenManager } from "./tokens.js";

/**
 * Methods anyone may call (as server/src/access.rs says). They are sent as
 * they are: no renewal first (a stale session must not stop a sign-in) and
 * no retry; the server ignores tokens on them anyway.
 */
const PUBLIC = new Set([
  "tenantry.auth.v1.AuthService/Register",
  "tenantry.auth.v1.AuthService/Login",
  "tenantry.auth.v1.AuthService/Refresh",
  "tenantry.auth.v1.AuthService/GetJwks",
  "tenantry.auth.v1.AuthService/VerifyEmail",
  "tenantry.auth.v1.AuthService/ExchangeToken",
  "tenantry.auth.v1.AuthService/RequestPasswordReset",
  "tenantry.auth.v1.AuthService/ResetPassword",
  "tenantry.auth.v1.AuthService/CompleteMfaLogin",
  "tenantry.auth.v1.AuthService/BeginPasskeyLogin",
  "tenantry.auth.v1.AuthService/FinishPasskeyLogin",
  "tenantry.sso.v1.SsoService/BeginSsoLogin",
  "tenantry.sso.v1.SsoService/CompleteSsoLogin",
  "tenantry.sso.v1.SsoService/ConfirmSsoLink",
]);

/** Methods after which the session is gone. */
const ENDS_SESSION = new Set([
  "tenantry.auth.v1.AuthService/Logout",
  "tenantry.auth.v1.AuthService/DeleteAccount",
]);

export function authInterceptor(tokens: TokenManager): Interceptor {
  return (next) => async (req) => {
    const name = `${req.service.typeName}/${req.method.name}`;
    if (PUBLIC.has(name)) return adoptTokens(tokens, await next(req));

    const { attempt, retryable } = await replayable(req);
    const token = await tokens.accessToken();
    let retried = false;
    // The token may be refused before its time: the session was switched to
    // another organization in another tab, or the server's signing key
    // changed. One renewal and one retry tell which.
    const renewAndRetry = async (e: unknown) => {
      if (retried || !retryable || codeOf(e) !== Code.Unauthenticated || !tokens.signedIn) throw e;
      retried = true;
      return next(attempt(await tokens.refresh(token)));
    };
    let res;
    try {
      res = await next(attempt(token));
    } catch (e) {
      res = await renewAndRetry(e);
    }
    if (res.stream && !retried) res = { ...res, message: retryUntilFirst(res, renewAndRetry) };
    if (ENDS_SESSION.has(name)) tokens.clear();
    return adoptTokens(tokens, res);
  };
}

/**
 * A stream may also be refused in its body rather than its headers (what a
 * server does depends on where it checks); until its first message arrives,
 * that is still worth one renewal and retry.
 */
async function* retryUntilFirst(
  res: StreamResponse,
  renewAndRetry: (e: unknown) => Promise<UnaryResponse | StreamResponse>,
): AsyncIterable<Message> {
  let received = false;
  try {
    for await (const m of res.message) {
      received = true;
      yield m;
    }
  } catch (e) {
    if (received) throw e;
    const again = await renewAndRetry(e);
    if (!again.stream) throw e;
    yield* again.message;
    again.trailer.forEach((value, key) => res.trailer.set(key, value));
  }
}

type Request = UnaryRequest | StreamRequest;

/**
 * A way to send the same request more than once. A server-streaming request
 * carries its one message in an async iterable that can be read only once,
 * so it is read here and replayed. Client streams (not possible in browsers
 * anyway) are sent once: buffering an upload to retry it would cost its size
 * in memory.
 */
async function replayable(req: Request): Promise<{ attempt: (token: string | undefined) => Request; retryable: boolean }> {
  const sign = (r: Request, token: string | undefined): Request => {
    if (token === undefined) r.header.delete("authorization");
    else r.header.set("authorization", `Bearer ${token}`);
    return r;
  };
  if (!req.stream) return { attempt: (token) => sign(req, token), retryable: true };
  if (req.method.methodKind !== "server_streaming") return { attempt: (token) => sign(req, token), retryable: false };
  const messages: unknown[] = [];
  for await (const m of req.message) messages.push(m);
  return { attempt: (token) => sign({ ...req, message: replay(messages) } as StreamRequest, token), retryable: true };
}

async function* replay<T>(messages: T[]): AsyncIterable<T> {
  yield* messages;
}

/** Any answer that carries a token pair (sign-in, new or switched organization) moves the session to it. */
function adoptTokens<R extends { stream: boolean; message: unknown }>(tokens: TokenManager, res: R): R {
  if (!res.stream) {
    const pair = (res.message as { tokens?: TokenPair }).tokens;
    if (pair?.$typeName === "tenantry.auth.v1.TokenPair" && pair.accessToken) tokens.adopt(pair);
  }
  return res;
}
