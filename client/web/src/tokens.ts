// The signed-in session of one client: a short-lived access token kept in
// memory, and the refresh token that renews it kept in a TokenStore.

import { Code, ConnectError } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { TokenPair } from "./gen/tenantry/auth/v1/auth_pb.js";
import { codeOf, isTransient } from "./errors.js";

/**
 * Where the refresh token lives. Only the refresh token is stored: the
 * access token is cheap to get again and lives 15 minutes.
 */
export interface TokenStore {
  get(): string | null;
  set(refreshToken: string | null): void;
}

/** Forgets the session when the page goes away. The default: no script can read it later. */
export function memoryStore(): TokenStore {
  let token: string | null = null;
  return {
    get: () => token,
    set: (t) => {
      token = t;
    },
  };
}

/**
 * Keeps the session across reloads and shares it between tabs of one origin.
 * Anything running on the page can read it, so use it only where that is an
 * acceptable trade.
 */
export function localStorageStore(key = "tenantry.refresh_token", storage: Storage = globalThis.localStorage): TokenStore {
  return {
    get: () => storage.getItem(key),
    set: (t) => (t === null ? storage.removeItem(key) : storage.setItem(key, t)),
  };
}

export interface TokenManagerOptions {
  /** Trades a refresh token for a new pair (AuthService.Refresh). */
  refresh: (refreshToken: string) => Promise<TokenPair>;
  store?: TokenStore;
  /** Renew the access token when it has less than this left. Default 60 s. */
  refreshMarginMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

interface AccessToken {
  token: string;
  /** On our clock (see expiresAt below). */
  expiresAt: number;
}

export class TokenManager {
  readonly store: TokenStore;
  private readonly refreshCall: (refreshToken: string) => Promise<TokenPair>;
  private readonly margin: number;
  private readonly now: () => number;
  private access: AccessToken | undefined;
  private inflight: Promise<string> | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(options: TokenManagerOptions) {
    this.refreshCall = options.refresh;
    this.store = options.store ?? memoryStore();
    this.margin = options.refreshMarginMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** True while there is a session to use or renew. */
  get signedIn(): boolean {
    return this.access !== undefined || this.store.get() !== null;
  }

  /** Called after every change of the session (sign-in, refresh, switch, sign-out). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Takes a pair from Login, Refresh, CreateOrganization, SwitchOrganization, CompleteSsoLogin or ConfirmSsoLink. */
  adopt(pair: TokenPair): void {
    this.access = { token: pair.accessToken, expiresAt: this.now() + lifetimeMs(pair, this.now()) };
    this.store.set(pair.refreshToken);
    this.changed();
  }

  /** Forgets both tokens (sign-out, or the server refused to renew them). */
  clear(): void {
    this.access = undefined;
    this.store.set(null);
    this.changed();
  }

  /**
   * The access token to send: the current one, or a renewed one when it is
   * about to expire (renewing first saves a call that would be refused).
   * Undefined when signed out.
   */
  async accessToken(): Promise<string | undefined> {
    const access = this.access;
    if (access && access.expiresAt - this.now() > this.margin) return access.token;
    if (this.store.get() === null) return access?.token;
    return this.refresh();
  }

  /**
   * Renews the tokens. Concurrent callers share one Refresh call: refresh
   * tokens are single use, and a second call with the same one would only
   * get the same successor back (the server's grace window) or, after it,
   * revoke the session.
   *
   * `rejected` is the access token the server just refused: when another
   * call has renewed it since, that newer one is returned without a call.
   */
  refresh(rejected?: string): Promise<string> {
    if (rejected !== undefined && this.access && this.access.token !== rejected) {
      return Promise.resolve(this.access.token);
    }
    this.inflight ??= this.renew().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async renew(): Promise<string> {
    const presented = this.store.get();
    if (presented === null) throw new ConnectError("signed out", Code.Unauthenticated);
    try {
      this.adopt(await this.refreshCall(presented));
    } catch (e) {
      // Another tab sharing the store may have renewed (or switched
      // organization) with the token we read: the server refuses ours, and
      // the store already holds its successor.
      const latest = this.store.get();
      if (codeOf(e) === Code.Unauthenticated && latest !== null && latest !== presented) {
        try {
          this.adopt(await this.refreshCall(latest));
          return this.access!.token;
        } catch (again) {
          e = again;
        }
      }
      // A network failure or overload says nothing about the session: keep
      // it and let the next call try again. A refusal means it is over.
      if (!isTransient(codeOf(e))) this.clear();
      throw e;
    }
    return this.access!.token;
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

/**
 * How long the access token lives, taken from its own claims (exp - iat) so
 * that a client whose clock is off still renews in time; the pair's expire
 * time (server clock) is the fallback.
 */
function lifetimeMs(pair: TokenPair, now: number): number {
  const claims = jwtClaims(pair.accessToken);
  if (claims && typeof claims.exp === "number" && typeof claims.iat === "number") {
    return (claims.exp - claims.iat) * 1000;
  }
  return pair.accessTokenExpireTime ? timestampMs(pair.accessTokenExpireTime) - now : 0;
}

function jwtClaims(jwt: string): Record<string, unknown> | undefined {
  const payload = jwt.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "="))) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
