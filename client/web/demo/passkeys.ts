// Passkeys: sign in with one (no email or password), use one as the second
// step after a password, and add one to the signed-in account. Shown only
// where the page can use WebAuthn (a secure context on a domain, such as
// http://localhost; not on an IP address, which cannot be a relying party).

import { passkeysSupported } from "../src/index.js";
import type { MfaChallenge } from "../src/gen/tenantry/auth/v1/auth_pb.js";
import type { App } from "./main.js";
import { $, clearErrors, field, onSubmit, show, showError } from "./ui.js";

export function passkeysUsable(): boolean {
  return passkeysSupported() && !/^[\d.]+$|^\[/.test(location.hostname);
}

export function setUpPasskeys(app: App): void {
  for (const element of document.querySelectorAll<HTMLElement>(".passkey-only")) show(element, passkeysUsable());
  const signIn = $<HTMLFormElement>("#sign-in");
  onClick($<HTMLButtonElement>("#passkey-sign-in"), signIn, async () => {
    await app.tenantry.signInWithPasskey();
    $("#notice").hidden = true;
    await app.render();
  });

  const add = $<HTMLFormElement>("#add-passkey");
  onSubmit(add, async () => {
    const { passkey, recoveryCodes } = await app.tenantry.registerPasskey(field(add, "password"), field(add, "name"));
    add.reset();
    const result = $("#passkey-result");
    result.replaceChildren(`Passkey “${passkey?.name}” added. `);
    if (recoveryCodes.length) {
      result.append("Your recovery codes (each works once; keep them, they are not shown again): ");
      const codes = document.createElement("code");
      codes.textContent = recoveryCodes.join(" ");
      result.append(codes);
    }
    show(result, true);
    await renderPasskeys(app);
  });
}

/** After a password: the second step, with the passkey when the account has one. */
export function askSecondStep(app: App, challenge: MfaChallenge): void {
  const form = $<HTMLFormElement>("#second-step");
  const passkey = $<HTMLButtonElement>("#second-step-passkey");
  show(passkey, challenge.methods.includes("passkey") && passkeysUsable());
  show($("#sign-in"), false);
  show(form, true);
  const done = async () => {
    form.reset();
    show(form, false);
    show($("#sign-in"), true);
    await app.render();
  };
  passkey.onclick = null;
  onClick(passkey, form, async () => {
    await app.tenantry.completeMfaWithPasskey(challenge);
    await done();
  });
  form.onsubmit = async (event) => {
    event.preventDefault();
    clearErrors(form);
    const code = field(form, "code");
    // Authenticator codes are digits; recovery codes are not.
    const proof = /^[\d ]+$/.test(code)
      ? { case: "totpCode" as const, value: code }
      : { case: "recoveryCode" as const, value: code };
    try {
      await app.tenantry.auth.completeMfaLogin({ challengeToken: challenge.challengeToken, proof });
      await done();
    } catch (e) {
      showError(form, e);
    }
  };
}

export async function renderPasskeys(app: App): Promise<void> {
  if (!passkeysUsable()) return;
  const { passkeys } = await app.tenantry.auth.listPasskeys({});
  $("#passkey-count").textContent = passkeys.length
    ? `You have ${passkeys.length === 1 ? "a passkey" : `${passkeys.length} passkeys`}: ${passkeys.map((p) => p.name).join(", ")}.`
    : "Sign in without a password, with your device's screen lock.";
}

/** A button that runs a call for `form`: errors show there, as for its submit. */
function onClick(button: HTMLButtonElement, form: HTMLFormElement, action: () => Promise<void>): void {
  button.onclick = async () => {
    button.disabled = true;
    clearErrors(form);
    try {
      await action();
    } catch (e) {
      showError(form, e);
    } finally {
      button.disabled = false;
    }
  };
}

