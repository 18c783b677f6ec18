// TenantryError reads what the server puts in grpc-status-details-bin and
// x-request-id (here through an in-memory transport, encoded as on the wire).

import { test } from "node:test";
import assert from "node:assert/strict";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { BadRequestSchema, RetryInfoSchema } from "../src/gen/google/rpc/error_details_pb.js";
import { AuthService } from "../src/gen/tenantry/auth/v1/auth_pb.js";
import { createTenantry, TenantryError } from "../src/index.js";

function tenantryAnswering(error: ConnectError) {
  return createTenantry({
    baseUrl: "https://api.test",
    transport: ({ interceptors }) =>
      createRouterTransport(
        (router) =>
          router.service(AuthService, {
            register() {
              throw error;
            },
          }),
        { transport: { interceptors } },
      ),
  });
}

test("field violations, request id and retry info are decoded", async () => {
  const tenantry = tenantryAnswering(
    new ConnectError("invalid argument: password: must be at least 12 characters", Code.InvalidArgument, { "x-request-id": "req-1" }, [
      {
        desc: BadRequestSchema,
        value: { fieldViolations: [{ field: "password", description: "must be at least 12 characters" }] },
      },
      { desc: RetryInfoSchema, value: { retryDelay: durationFromMs(1500) } },
    ]),
  );
  await assert.rejects(tenantry.auth.register({ email: "a@example.com", password: "short" }), (e: unknown) => {
    assert.ok(e instanceof TenantryError);
    assert.equal(e.code, Code.InvalidArgument);
    assert.equal(e.message, "invalid argument: password: must be at least 12 characters");
    assert.deepEqual(e.fieldViolations, [{ field: "password", description: "must be at least 12 characters" }]);
    assert.equal(e.fieldError("password"), "must be at least 12 characters");
    assert.equal(e.fieldError("email"), undefined);
    assert.equal(e.retryAfterMs, 1500);
    assert.equal(e.requestId, "req-1");
    return true;
  });
});

test("an error without details has none", async () => {
  const tenantry = tenantryAnswering(new ConnectError("email already registered", Code.AlreadyExists));
  await assert.rejects(tenantry.auth.register({}), (e: unknown) => {
    assert.ok(e instanceof TenantryError);
    assert.equal(e.code, Code.AlreadyExists);
    assert.deepEqual(e.fieldViolations, []);
    assert.equal(e.retryAfterMs, undefined);
    assert.equal(e.transient, false);
    return true;
  });
});
