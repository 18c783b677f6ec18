// One error type for every call: what went wrong, in words a form can show
// next to the field it concerns, and what support needs to find the request.

import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { DescService } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import {
  BadRequestSchema,
  PreconditionFailureSchema,
  RetryInfoSchema,
} from "./gen/google/rpc/error_details_pb.js";

export { Code };

/** A field of the request that the server refused, and why. */
export interface FieldViolation {
  /** The request field's proto name, e.g. `password` or `metadata.name`. */
  field: string;
  description: string;
}

/** A precondition that did not hold, e.g. `{type: "OFFSET", ...}` for an upload chunk. */
export interface PreconditionViolation {
  type: string;
  subject: string;
  description: string;
}

export class TenantryError extends Error {
  override readonly name = "TenantryError";
  readonly code: Code;
  /** The server's message without the `[code]` prefix. */
  readonly rawMessage: string;
  /** From google.rpc.BadRequest (grpc-status-details-bin); empty when none. */
  readonly fieldViolations: FieldViolation[];
  /** From google.rpc.PreconditionFailure; empty when none. */
  readonly preconditionViolations: PreconditionViolation[];
  /** From google.rpc.RetryInfo: how long to wait before trying again. */
  readonly retryAfterMs: number | undefined;
  /** The server's x-request-id, to quote when reporting a problem. */
  readonly requestId: string | undefined;
  /** Response headers and trailers of the failed call. */
  readonly metadata: Headers;
  override readonly cause: ConnectError;

  constructor(cause: ConnectError) {
    super(cause.rawMessage || Code[cause.code]);
    this.cause = cause;
    this.code = cause.code;
    this.rawMessage = cause.rawMessage;
    this.metadata = cause.metadata;
    this.requestId = cause.metadata.get("x-request-id") ?? undefined;
    this.fieldViolations = cause
      .findDetails(BadRequestSchema)
      .flatMap((d) => d.fieldViolations.map(({ field, description }) => ({ field, description })));
    this.preconditionViolations = cause
      .findDetails(PreconditionFailureSchema)
      .flatMap((d) => d.violations.map(({ type, subject, description }) => ({ type, subject, description })));
    const delay = cause.findDetails(RetryInfoSchema)[0]?.retryDelay;
    this.retryAfterMs = delay ? durationMs(delay) : undefined;
  }

  /** Any thrown value as a TenantryError (network failures become UNAVAILABLE/UNKNOWN). */
  static from(reason: unknown): TenantryError {
    return reason instanceof TenantryError ? reason : new TenantryError(ConnectError.from(reason));
  }

  /** The description(s) for one field, e.g. to show next to its input. */
  fieldError(field: string): string | undefined {
    const found = this.fieldViolations.filter((v) => v.field === field);
    return found.length ? found.map((v) => v.description).join("; ") : undefined;
  }

  /** Whether trying the same call again later may succeed. */
  get transient(): boolean {
    return isTransient(this.code);
  }
}

/**
 * Codes that say nothing about the request or the credentials: the network or
 * the server failed, or asked us to slow down. Retrying may help; signing the
 * user out would not. UNKNOWN is what a failed fetch becomes (network down,
 * server gone, an origin the server's CORS list does not allow).
 */
export function isTransient(code: Code): boolean {
  return (
    code === Code.Unavailable ||
    code === Code.DeadlineExceeded ||
    code === Code.ResourceExhausted ||
    code === Code.Aborted ||
    code === Code.Unknown
  );
}

/** The code of any thrown value, whether a TenantryError or not. */
export function codeOf(reason: unknown): Code {
  return TenantryError.from(reason).code;
}

/**
 * The same client, failing with TenantryError, streams included. (Done here
 * rather than in an interceptor: connect turns whatever an interceptor throws
 * back into a ConnectError.)
 */
export function withTenantryErrors<S extends DescService>(service: S, client: Client<S>): Client<S> {
  const calls = client as unknown as Record<string, (...args: unknown[]) => unknown>;
  const wrapped: Record<string, unknown> = {};
  for (const method of service.methods) {
    const call = calls[method.localName]!;
    switch (method.methodKind) {
      case "unary":
        wrapped[method.localName] = (...args: unknown[]) =>
          (call(...args) as Promise<unknown>).catch((e: unknown) => {
            throw TenantryError.from(e);
          });
        break;
      case "server_streaming":
        wrapped[method.localName] = (...args: unknown[]) => rethrowing(call(...args) as AsyncIterable<unknown>);
        break;
      default:
        // Client and bidi streams cannot run in a browser (no streaming
        // request bodies over fetch); left as they are.
        wrapped[method.localName] = call;
    }
  }
  return wrapped as Client<S>;
}

async function* rethrowing<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (e) {
    throw TenantryError.from(e);
  }
}
