//! `tenantry mfa …`: the second factor of your account (an authenticator
//! app, passkeys and the recovery codes). Passkeys are made in a browser;
//! here they are listed and deleted.

use clap::Subcommand;
use serde_json::json;
use tenantry_client::auth::v1::{
    BeginTotpEnrollmentRequest, ConfirmTotpEnrollmentRequest, DeletePasskeyRequest,
    GetMfaStatusRequest, ListPasskeysRequest, RegenerateRecoveryCodesRequest, RemoveTotpRequest,
};

use crate::{auth::Password, profile::Session, show};

#[derive(Debug, Subcommand)]
pub enum MfaCommand {
    /// Whether you have a second factor, and recovery codes left.
    Status,
    /// Starts enrolling an authenticator app: prints its secret and
    /// otpauth:// URI; finish with `mfa confirm <code>`.
    Enroll {
        #[command(flatten)]
        password: Password,
    },
    /// Finishes enrolling with the code the app shows; prints your recovery
    /// codes (keep them: they are shown once).
    Confirm { code: String },
    /// Removes the authenticator app and the recovery codes.
    Remove {
        #[command(flatten)]
        password: Password,
    },
    /// Replaces your recovery codes with new ones.
    RecoveryCodes {
        #[command(flatten)]
        password: Password,
    },
    /// Lists your passkeys (id, name, when made and last used).
    Passkeys,
    /// Deletes one of your passkeys.
    DeletePasskey {
        id: String,
        #[command(flatten)]
        password: Password,
    },
}

pub async fn run(session: &mut Session, command: MfaCommand) -> anyhow::Result<()> {
    let output = session.output;
    let client = session.signed_in()?;
    let mut auth = client.auth();
    match command {
        MfaCommand::Status => {
            let status = auth
                .get_mfa_status(GetMfaStatusRequest {})
                .await?
                .into_inner();
            println!(
                "authenticator app  {}",
                if status.totp_enabled {
                    "enrolled"
                } else {
                    "none"
                }
            );
            println!("passkeys           {}", status.passkey_count);
            println!("recovery codes     {}", status.recovery_codes_remaining);
        }
        MfaCommand::Enroll { password } => {
            let request = BeginTotpEnrollmentRequest {
                password: password.required()?,
            };
            let begun = auth.begin_totp_enrollment(request).await?.into_inner();
            println!("secret  {}", begun.secret);
            println!("uri     {}", begun.otpauth_uri);
            println!("add it to your authenticator app, then: tenantry mfa confirm <code>");
        }
        MfaCommand::Confirm { code } => {
            let request = ConfirmTotpEnrollmentRequest { code };
            let done = auth.confirm_totp_enrollment(request).await?.into_inner();
            print_codes(&done.recovery_codes);
        }
        MfaCommand::Remove { password } => {
            let request = RemoveTotpRequest {
                password: password.required()?,
            };
            auth.remove_totp(request).await?;
            println!("authenticator app removed");
        }
        MfaCommand::RecoveryCodes { password } => {
            let request = RegenerateRecoveryCodesRequest {
                password: password.required()?,
            };
            let done = auth.regenerate_recovery_codes(request).await?.into_inner();
            print_codes(&done.recovery_codes);
        }
        MfaCommand::Passkeys => {
            let listed = auth
                .list_passkeys(ListPasskeysRequest {})
                .await?
                .into_inner();
            let rows: Vec<_> = listed
                .passkeys
                .iter()
                .map(|p| {
                    json!({
                        "id": p.id, "name": p.name, "backed_up": p.backed_up,
                        "create_time": show::time(p.create_time.as_ref()),
                        "last_use_time": show::time(p.last_use_time.as_ref()),
                    })
                })
                .collect();
            let columns = ["id", "name", "create_time", "last_use_time", "backed_up"];
            show::list(output, &columns, &rows);
        }
        MfaCommand::DeletePasskey { id, password } => {
            let request = DeletePasskeyRequest {
                passkey_id: id,
                password: password.required()?,
            };
            auth.delete_passkey(request).await?;
            println!("passkey deleted");
        }
    }
    Ok(())
}

fn print_codes(codes: &[String]) {
    println!("recovery codes (each works once; they are not shown again):");
    for code in codes {
        println!("  {code}");
    }
}
