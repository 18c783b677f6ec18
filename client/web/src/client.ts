// createTenantry: typed clients for every service over one grpc-web
// transport, with the session's tokens attached and renewed.

import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import type { DescService } from "@bufbuild/protobuf";
import { AuditService } from "./gen/tenantry/audit/v1/audit_pb.js";
import { AuthService } from "./gen/tenantry/auth/v1/auth_pb.js";
import { FileService } from "./gen/tenantry/file/v1/file_pb.js";
import { OrgService } from "./gen/tenantry/org/v1/org_pb.js";
import { SsoService } from "./gen/tenantry/sso/v1/sso_pb.js";
import { authInterceptor } from "./auth.js";
import { withTenantryErrors } from "./errors.js";
import { TokenManager, type TokenStore } from "./tokens.js";
import { uploadBlob, type UploadOptions } from "./upload.js";
import { downloadBlob, type DownloadOptions } from "./download.js";
import type { MfaChallenge } from "./gen/tenantry/auth/v1/auth_pb.js";
import { completeMfaWithPasskey, registerPasskey, signInWithPasskey, type RegisteredPasskey } from "./passkeys.js";

export interface TenantryOptions {
  /** Where the server listens, e.g. `https://api.example.com` (its CORS list must allow this page's origin). */
  baseUrl: string;
  /** Where the refresh token is kept. Default: memory (signed out on reload). */
  tokenStore?: TokenStore;
  /** Renew the access token when it has less than this left. Default 60 s. */
  refreshMarginMs?: number;
  /**
   * Builds the transport (default: grpc-web in the binary format over
   * fetch). Tests pass an in-memory one; other runtimes their own.
   */
  transport?: (options: { baseUrl: string; interceptors: Interceptor[] }) => Transport;
}

export interface Tenantry {
  auth: Client<typeof AuthService>;
  org: Client<typeof OrgService>;
  file: Client<typeof FileService>;
  audit: Client<typeof AuditService>;
  sso: Client<typeof SsoService>;
  tokens: TokenManager;
  /**
   * Signs in with email and password; the session's tokens are kept. For an
   * account with a second factor, resolves to the challenge of the second
   * step instead (finish it with `completeMfaLogin` or `completeMfaWithPasskey`).
   */
  signIn(email: string, password: string): Promise<MfaChallenge | undefined>;
  /** Signs in with a passkey (no email or password), optionally pinned to an organization. */
  signInWithPasskey(organizationId?: string): Promise<void>;
  /** The second step of `signIn` with a passkey. */
  completeMfaWithPasskey(challenge: MfaChallenge): Promise<void>;
  /** Registers a passkey for the signed-in person, who gives their password again. */
  registerPasskey(password: string, name?: string): Promise<RegisteredPasskey>;
  /** Ends the session on the server (best effort) and forgets its tokens. */
  signOut(): Promise<void>;
  upload(blob: Blob, options?: UploadOptions): ReturnType<typeof uploadBlob>;
  download(fileId: string, options?: DownloadOptions): ReturnType<typeof downloadBlob>;
}

export function createTenantry(options: TenantryOptions): Tenantry {
  const { baseUrl } = options;
  const makeTransport =
    options.transport ?? ((o) => createGrpcWebTransport({ baseUrl: o.baseUrl, interceptors: o.interceptors, useBinaryFormat: true }));

  // Refresh goes through a transport of its own, without the token
  // interceptor: it is public, and it must not wait for itself.
  const plainAuth = createClient(AuthService, makeTransport({ baseUrl, interceptors: [] }));
  const tokens = new TokenManager({
    store: options.tokenStore,
    refreshMarginMs: options.refreshMarginMs,
    refresh: async (refreshToken) => {
      const { tokens: pair } = await plainAuth.refresh({ refreshToken });
      if (!pair) throw new Error("the server answered Refresh without tokens");
      return pair;
    },
  });
  const transport = makeTransport({ baseUrl, interceptors: [authInterceptor(tokens)] });
  const client = <S extends DescService>(service: S) => withTenantryErrors(service, createClient(service, transport));

  const tenantry: Tenantry = {
    auth: client(AuthService),
    org: client(OrgService),
    file: client(FileService),
    audit: client(AuditService),
    sso: client(SsoService),
    tokens,
    async signIn(email, password) {
      // The interceptor keeps the pair of the answer.
      const answer = await tenantry.auth.login({ email, password });
      return answer.mfaRequired;
    },
    signInWithPasskey: (organizationId) => signInWithPasskey(tenantry.auth, organizationId),
    completeMfaWithPasskey: (challenge) => completeMfaWithPasskey(tenantry.auth, challenge),
    registerPasskey: (password, name) => registerPasskey(tenantry.auth, password, name),
    async signOut() {
      try {
        if (tokens.signedIn) await tenantry.auth.logout({});
      } catch {
        // Already over on the server (expired, revoked) or unreachable: the
        // tokens are forgotten here either way.
      } finally {
        tokens.clear();
      }
    },
    upload: (blob, uploadOptions) => uploadBlob(tenantry.file, blob, uploadOptions),
    download: (fileId, downloadOptions) => downloadBlob(tenantry.file, fileId, downloadOptions),
  };
  return tenantry;
}
