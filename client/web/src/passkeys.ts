// Passkeys in the browser: the WebAuthn calls between the server's options
// and its Finish RPCs. The server writes options as JSON (`{"publicKey":
// {…}}`, binary fields base64url), which the browser's
// `PublicKeyCredential.parse…OptionsFromJSON` reads; answers go back as
// `credential.toJSON()`. WebAuthn needs a secure context on a domain inside
// the server's relying party (`--passkey-rp-id`, `localhost` by default).

import type { Client } from "@connectrpc/connect";
import type { AuthService, MfaChallenge, Passkey } from "./gen/tenantry/auth/v1/auth_pb.js";

type Auth = Client<typeof AuthService>;

/** Whether this page can use passkeys at all (a secure context with WebAuthn). */
export function passkeysSupported(): boolean {
  return typeof window !== "undefined" && window.isSecureContext && "PublicKeyCredential" in window;
}

export interface RegisteredPasskey {
  passkey: Passkey;
  /** Only for the account's first factor: 10 single-use codes to show once. */
  recoveryCodes: string[];
}

/** Registers a passkey for the signed-in person (asked for their password again). */
export async function registerPasskey(auth: Auth, password: string, name = ""): Promise<RegisteredPasskey> {
  const begun = await auth.beginPasskeyRegistration({ password });
  const { publicKey } = JSON.parse(begun.creationOptions) as { publicKey: PublicKeyCredentialCreationOptionsJSON };
  const credential = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(publicKey),
  });
  const done = await auth.finishPasskeyRegistration({
    registrationToken: begun.registrationToken,
    credential: answer(credential),
    name,
  });
  if (!done.passkey) throw new Error("the server answered FinishPasskeyRegistration without the passkey");
  return { passkey: done.passkey, recoveryCodes: done.recoveryCodes };
}

/**
 * Signs in with a passkey, no email or password: the browser offers the
 * passkeys it holds for this site. The client keeps the session's tokens.
 */
export async function signInWithPasskey(auth: Auth, organizationId = ""): Promise<void> {
  const begun = await auth.beginPasskeyLogin({});
  const credential = await get(begun.requestOptions);
  await auth.finishPasskeyLogin({ loginToken: begun.loginToken, credential, organizationId });
}

/** The second step with a passkey, when sign-in answered `mfaRequired` with method "passkey". */
export async function completeMfaWithPasskey(auth: Auth, challenge: MfaChallenge): Promise<void> {
  if (!challenge.methods.includes("passkey")) throw new Error("this account has no passkey to sign in with");
  const passkeyAssertion = await get(challenge.passkeyRequestOptions);
  await auth.completeMfaLogin({
    challengeToken: challenge.challengeToken,
    proof: { case: "passkeyAssertion", value: passkeyAssertion },
  });
}

/** `navigator.credentials.get` on the server's request options (a button, not autofill). */
async function get(options: string): Promise<string> {
  const { publicKey } = JSON.parse(options) as { publicKey: PublicKeyCredentialRequestOptionsJSON };
  const credential = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(publicKey),
  });
  return answer(credential);
}

function answer(credential: Credential | null): string {
  if (!(credential instanceof PublicKeyCredential)) throw new Error("the browser made no passkey credential");
  return JSON.stringify(credential.toJSON());
}
