//! Organization commands.

use clap::Subcommand;
use futures::TryStreamExt as _;
use serde_json::json;
use tenantry_client::Tenantry;
use tenantry_client::org::v1::{
    AcceptInvitationRequest, CreateInvitationRequest, CreateOrganizationRequest,
    DeleteOrganizationRequest, GetOrganizationRequest, InvitationState, LeaveOrganizationRequest,
    ListInvitationsRequest, ListMembersRequest, ListMyOrganizationsRequest, RemoveMemberRequest,
    UpdateMemberRoleRequest,
};

use crate::{
    profile::Session,
    show::{self, Output},
};

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Creates an organization; you become its owner and switch to it.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: String,
    },
    /// Your organizations.
    List,
    /// The organization you are pinned to.
    Show,
    /// Pins your session to another organization (id or slug).
    Switch { organization: String },
    /// Members and their roles.
    Members,
    /// Invites an address; prints the token (also mailed).
    Invite {
        email: String,
        #[arg(long, default_value = "member")]
        role: String,
    },
    /// Invitations of the organization.
    Invitations,
    /// Joins the organization of an invitation.
    Accept { token: String },
    /// Changes a member's role.
    SetRole { user_id: String, role: String },
    /// Removes a member.
    Remove { user_id: String },
    /// Leaves the organization.
    Leave,
    /// Deletes the organization (owners; give its slug to confirm).
    Delete {
        #[arg(long)]
        confirm: String,
    },
}

pub async fn run(session: &mut Session, command: OrgCommand) -> anyhow::Result<()> {
    let client = session.signed_in()?;
    let org = client.org();
    match command {
        OrgCommand::Create { name, slug } => {
            let created = org
                .clone()
                .create_organization(CreateOrganizationRequest { name, slug })
                .await?
                .into_inner();
            session.store(&created.tokens.unwrap_or_default())?;
            let o = created.organization.unwrap_or_default();
            println!(
                "created {} ({}) — you are its owner and now work in it",
                o.slug, o.id
            );
        }
        OrgCommand::List => list_mine(&client, session.output).await?,
        OrgCommand::Show => {
            let o = org
                .clone()
                .get_organization(GetOrganizationRequest {})
                .await?
                .into_inner()
                .organization
                .unwrap_or_default();
            println!(
                "{} ({})  {}  created {}",
                o.slug,
                o.id,
                o.name,
                show::when(o.create_time.as_ref())
            );
        }
        OrgCommand::Switch { organization } => {
            let id = resolve(&client, &organization).await?;
            // The SDK keeps the new token pair in the profile.
            let tokens = client.switch_organization(id.clone()).await?;
            println!("now working in {id} as {}", show::role(tokens.role));
        }
        OrgCommand::Members => members(&client, session.output).await?,
        OrgCommand::Invite { email, role } => {
            let role = show::parse_role(&role)? as i32;
            let created = org
                .clone()
                .create_invitation(CreateInvitationRequest { email, role })
                .await?
                .into_inner();
            let i = created.invitation.unwrap_or_default();
            println!(
                "invited {} as {} (expires {})",
                i.email,
                show::role(i.role),
                show::when(i.expire_time.as_ref())
            );
            println!("token: {}", created.token);
        }
        OrgCommand::Invitations => invitations(&client, session.output).await?,
        OrgCommand::Accept { token } => {
            let joined = org
                .clone()
                .accept_invitation(AcceptInvitationRequest { token })
                .await?
                .into_inner();
            let m = joined.membership.unwrap_or_default();
            let o = m.organization.unwrap_or_default();
            println!(
                "joined {} ({}) as {}; `tenantry org switch {}` to work in it",
                o.slug,
                o.id,
                show::role(m.role),
                o.slug
            );
        }
        OrgCommand::SetRole { user_id, role } => {
            let role = show::parse_role(&role)? as i32;
            let m = org
                .clone()
                .update_member_role(UpdateMemberRoleRequest { user_id, role })
                .await?
                .into_inner()
                .member
                .unwrap_or_default();
            println!("{} is now {}", m.email, show::role(m.role));
        }
        OrgCommand::Remove { user_id } => {
            org.clone()
                .remove_member(RemoveMemberRequest { user_id })
                .await?;
            println!("removed");
        }
        OrgCommand::Leave => {
            org.clone()
                .leave_organization(LeaveOrganizationRequest {})
                .await?;
            println!("left the organization");
        }
        OrgCommand::Delete { confirm } => {
            org.clone()
                .delete_organization(DeleteOrganizationRequest {
                    confirm_slug: confirm,
                })
                .await?;
            session.forget()?;
            println!("deleted; its sessions have ended (sign in again)");
        }
    }
    Ok(())
}

/// An organization id from an id or one of the caller's slugs.
async fn resolve(client: &Tenantry, text: &str) -> anyhow::Result<String> {
    if text.len() == 36 && text.contains('-') {
        return Ok(text.to_owned());
    }
    let mut mine = client.list(ListMyOrganizationsRequest::default());
    while let Some(membership) = mine.try_next().await? {
        if let Some(o) = membership.organization.filter(|o| o.slug == text) {
            return Ok(o.id);
        }
    }
    anyhow::bail!("you are in no organization with slug {text:?}")
}

async fn list_mine(client: &Tenantry, output: Output) -> anyhow::Result<()> {
    let all = client.list(ListMyOrganizationsRequest::default());
    let rows: Vec<_> = all
        .map_ok(|m| {
            let o = m.organization.unwrap_or_default();
            json!({"id": o.id, "slug": o.slug, "role": show::role(m.role), "name": o.name})
        })
        .try_collect()
        .await?;
    show::list(output, &["id", "slug", "role", "name"], &rows);
    Ok(())
}

async fn members(client: &Tenantry, output: Output) -> anyhow::Result<()> {
    let all = client.list(ListMembersRequest::default());
    let rows: Vec<_> = all
        .map_ok(|m| {
            json!({
                "user_id": m.user_id, "role": show::role(m.role),
                "name": m.display_name, "email": m.email,
                "join_time": show::time(m.join_time.as_ref()),
            })
        })
        .try_collect()
        .await?;
    let columns = ["user_id", "role", "name", "email", "join_time"];
    show::list(output, &columns, &rows);
    Ok(())
}

async fn invitations(client: &Tenantry, output: Output) -> anyhow::Result<()> {
    let all = client.list(ListInvitationsRequest::default());
    let rows: Vec<_> = all
        .map_ok(|i| {
            let state = InvitationState::try_from(i.state).map_or("?", |s| s.as_str_name());
            json!({
                "id": i.id, "email": i.email, "role": show::role(i.role),
                "state": state.trim_start_matches("INVITATION_STATE_").to_lowercase(),
                "expire_time": show::time(i.expire_time.as_ref()),
            })
        })
        .try_collect()
        .await?;
    let columns = ["id", "email", "role", "state", "expire_time"];
    show::list(output, &columns, &rows);
    Ok(())
}
