// The web client's public surface. Messages and services come from the
// generated code (./gen), e.g. `import { Role } from "…/gen/tenantry/auth/v1/auth_pb.js"`.

export { createTenantry, type Tenantry, type TenantryOptions } from "./client.js";
export { authInterceptor } from "./auth.js";
export { TokenManager, memoryStore, localStorageStore, type TokenStore, type TokenManagerOptions } from "./tokens.js";
export {
  TenantryError,
  Code,
  codeOf,
  isTransient,
  withTenantryErrors,
  type FieldViolation,
  type PreconditionViolation,
} from "./errors.js";
export { uploadBlob, type UploadOptions, type Progress } from "./upload.js";
export { downloadBlob, type DownloadOptions } from "./download.js";
export { passkeysSupported, type RegisteredPasskey } from "./passkeys.js";
