// Sign up, sign in, sign out and email verification.

import type { App } from "./main.js";
import { askSecondStep } from "./passkeys.js";
import { $, field, notice, onSubmit } from "./ui.js";

export function setUpAccount(app: App): void {
  const signUp = $<HTMLFormElement>("#sign-up");
  onSubmit(signUp, async () => {
    const email = field(signUp, "email");
    const password = field(signUp, "password");
    await app.tenantry.auth.register({ email, password, displayName: field(signUp, "display_name") });
    // An account is no use signed out: go straight in.
    await app.tenantry.signIn(email, password);
    signUp.reset();
    notice(`Welcome! Your account ${email} is ready. A verification token was mailed to you.`);
    await app.render();
  });

  const signIn = $<HTMLFormElement>("#sign-in");
  onSubmit(signIn, async () => {
    const challenge = await app.tenantry.signIn(field(signIn, "email"), field(signIn, "password"));
    signIn.reset();
    $("#notice").hidden = true;
    if (challenge) return askSecondStep(app, challenge);
    await app.render();
  });

  $("#sign-out").addEventListener("click", async () => {
    app.me = undefined; // an ending we asked for: not "your session ended"
    $("#passkey-result").hidden = true; // recovery codes are shown to their owner only
    await app.tenantry.signOut();
    notice("Signed out.");
    await app.render();
  });

  const verify = $<HTMLFormElement>("#verify-email");
  onSubmit(verify, async () => {
    await app.tenantry.auth.verifyEmail({ token: field(verify, "token") });
    verify.reset();
    notice("Email verified.");
    await app.render();
  });
}
