// The demo web app: finds its server, keeps the session in localStorage (so
// a reload stays signed in) and shows the signed-out or signed-in view.

import { Code, createTenantry, localStorageStore, TenantryError, type Tenantry } from "../src/index.js";
import type { GetMeResponse } from "../src/gen/tenantry/auth/v1/auth_pb.js";
import { setUpAccount } from "./account.js";
import { renderFiles, setUpFiles } from "./files.js";
import { renderOrgs, roleName, setUpOrgs } from "./orgs.js";
import { renderPasskeys, setUpPasskeys } from "./passkeys.js";
import { $, describe, notice, show } from "./ui.js";

export interface App {
  tenantry: Tenantry;
  /** Who is signed in, and where; undefined when signed out. */
  me: GetMeResponse | undefined;
  /** Shows the state of the session: asks the server again and redraws. */
  render(): Promise<void>;
  /** Shows a failure that belongs to no form. */
  fail(error: unknown): void;
}

/** `?server=` first (handy for one-off runs), then config.json (written by `npm run demo`), then the default port. */
async function serverUrl(): Promise<string> {
  const fromQuery = new URLSearchParams(location.search).get("server");
  if (fromQuery) return fromQuery;
  try {
    const config = (await (await fetch("config.json")).json()) as { tenantryUrl?: unknown };
    if (typeof config.tenantryUrl === "string") return config.tenantryUrl;
  } catch {
    // No config: the default below.
  }
  return "http://127.0.0.1:50051";
}

async function start(): Promise<void> {
  const baseUrl = await serverUrl();
  $("#server").textContent = `server ${baseUrl}`;
  const tenantry = createTenantry({ baseUrl, tokenStore: localStorageStore("tenantry.demo.refresh_token") });

  const app: App = {
    tenantry,
    me: undefined,
    async render() {
      if (tenantry.tokens.signedIn) {
        try {
          app.me = await tenantry.auth.getMe({});
        } catch (e) {
          app.me = undefined;
          if (TenantryError.from(e).code !== Code.Unauthenticated) app.fail(e);
        }
      } else {
        app.me = undefined;
      }
      const me = app.me;
      show($("#loading"), false);
      show($("#signed-out"), !me);
      show($("#signed-in"), !!me);
      show($("#account"), !!me);
      if (!me) return;
      const who = me.user?.displayName ? `${me.user.displayName} <${me.user.email}>` : (me.user?.email ?? "");
      $("#whoami").textContent = me.user?.emailVerified ? who : `${who} (email not verified)`;
      show($("#verify-email"), !me.user?.emailVerified);
      show($("#files"), me.organizationId !== "");
      document.title = me.organizationId ? `Tenantry demo · ${roleName(me.role)}` : "Tenantry demo";
      await Promise.all([
        renderOrgs(app),
        renderPasskeys(app),
        me.organizationId ? renderFiles(app) : Promise.resolve(),
      ]).catch(app.fail);
    },
    fail(error) {
      notice(describe(TenantryError.from(error)), "error");
    },
  };

  // The session can end behind the page's back (revoked, expired, refused
  // refresh): go back to the sign-in forms when it does.
  tenantry.tokens.onChange(() => {
    if (!tenantry.tokens.signedIn && app.me) {
      notice("Your session ended. Please sign in again.", "error");
      void app.render();
    }
  });

  setUpAccount(app);
  setUpPasskeys(app);
  setUpOrgs(app);
  setUpFiles(app);
  await app.render();
}

void start();
