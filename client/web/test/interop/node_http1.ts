// connect-node over HTTP/1.1 against a real Tenantry server, as a Node
// backend-for-frontend or a proxy that keeps connections alive would call it.
// connect-node sends a request's headers first and its body a moment later;
// a server that refused before reading the body and hung up used to poison
// the kept-alive socket (the next call failed with EPIPE, seen as INTERNAL).
// Prints one JSON summary line; throws (exit 1) on the first surprise.

import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { AuthService } from "../../src/gen/tenantry/auth/v1/auth_pb.js";
import { BadRequestSchema } from "../../src/gen/google/rpc/error_details_pb.js";

const baseUrl = process.env.TENANTRY_URL;
if (!baseUrl) throw new Error("TENANTRY_URL is required");
const rounds = Number(process.env.ROUNDS ?? "50");

const grpcWeb = createClient(AuthService, createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }));

async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (e) {
    return ConnectError.from(e).code;
  }
}

// A signed-in account, so the good call below spends the per-user budget,
// not the small per-address one of public methods.
const account = `http1-${Date.now()}@example.com`;
const password = "correct horse battery staple";
await grpcWeb.register({ email: account, password });
const signedIn = await grpcWeb.login({ email: account, password });
const authorization = `Bearer ${signedIn.tokens?.accessToken ?? ""}`;

// A refused call (no token: the authentication layer answers before the
// body is read), then a good one, on the same kept-alive connection.
const seen = { unauthenticated: 0, served: 0, other: [] as string[] };
for (let i = 0; i < rounds; i++) {
  const refused = await codeOf(grpcWeb.getMe({}));
  if (refused === Code.Unauthenticated) seen.unauthenticated++;
  else seen.other.push(`round ${i} GetMe without a token: ${refused === "ok" ? "ok" : Code[refused]}`);
  const served = await codeOf(grpcWeb.getMe({}, { headers: { authorization } }));
  if (served === "ok") seen.served++;
  else seen.other.push(`round ${i} GetMe: ${Code[served]}`);
}
if (seen.other.length > 0) throw new Error(`unexpected answers:\n${seen.other.join("\n")}`);

// Error details decode with the vendored google.rpc protos.
let violations: string[] = [];
try {
  await grpcWeb.register({ email: "not-an-address", password: "correct horse battery staple" });
} catch (e) {
  const error = ConnectError.from(e);
  violations = error.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
}

// The Connect protocol is refused before Register runs: the address stays free.
const email = `connect-${Date.now()}@example.com`;
const connect = createClient(AuthService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
const viaConnect = await codeOf(
  connect.register({ email, password: "correct horse battery staple" }),
);
const viaGrpcWeb = await codeOf(
  grpcWeb.register({ email, password: "correct horse battery staple" }),
);

console.log(
  JSON.stringify({
    rounds,
    unauthenticated: seen.unauthenticated,
    served: seen.served,
    violations,
    connectRegister: viaConnect === "ok" ? "ok" : Code[viaConnect],
    grpcWebRegisterAfter: viaGrpcWeb === "ok" ? "ok" : Code[viaGrpcWeb],
  }),
);
