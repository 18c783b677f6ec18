//! Every kind of audit event, with the stable dotted name it is stored and
//! listed under (`AuditEvent.action`; filters match on its prefix). One enum,
//! so a name is written once and a new event is a new variant.

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    AuthLogin,
    AuthLogout,
    AuthOrganizationSwitched,
    AuthSessionOthersRevoked,
    AuthSessionReuseDetected,
    AuthSessionRevoked,
    AuthUserDeleted,
    AuthUserEmailVerified,
    AuthUserPasswordChanged,
    AuthUserPasswordCheck,
    AuthUserProfileUpdated,
    AuthUserRegistered,
    FileDeleted,
    FilePurged,
    FileRestored,
    FileUpdated,
    FileUploadSessionAborted,
    FileUploadSessionCreated,
    FileUploadSessionExpired,
    FileUploaded,
    OrgCreated,
    OrgDeleted,
    OrgInvitationAccepted,
    OrgInvitationCreated,
    OrgInvitationRevoked,
    OrgMemberAccountDeleted,
    OrgMemberLeft,
    OrgMemberRemoved,
    OrgMemberRoleUpdated,
    OrgUpdated,
    SsoConfigCreated,
    SsoConfigDeleted,
    SsoConfigUpdated,
    SsoIdentityLinked,
    SsoIdentityUnlinked,
    SsoLinkRequested,
    SsoLogin,
    SsoMemberProvisioned,
    SsoRoleSynced,
    SsoUserProvisioned,
}

impl Action {
    /// Every action, for tests and documentation.
    pub const ALL: [Action; 40] = [
        Action::AuthLogin,
        Action::AuthLogout,
        Action::AuthOrganizationSwitched,
        Action::AuthSessionOthersRevoked,
        Action::AuthSessionReuseDetected,
        Action::AuthSessionRevoked,
        Action::AuthUserDeleted,
        Action::AuthUserEmailVerified,
        Action::AuthUserPasswordChanged,
        Action::AuthUserPasswordCheck,
        Action::AuthUserProfileUpdated,
        Action::AuthUserRegistered,
        Action::FileDeleted,
        Action::FilePurged,
        Action::FileRestored,
        Action::FileUpdated,
        Action::FileUploadSessionAborted,
        Action::FileUploadSessionCreated,
        Action::FileUploadSessionExpired,
        Action::FileUploaded,
        Action::OrgCreated,
        Action::OrgDeleted,
        Action::OrgInvitationAccepted,
        Action::OrgInvitationCreated,
        Action::OrgInvitationRevoked,
        Action::OrgMemberAccountDeleted,
        Action::OrgMemberLeft,
        Action::OrgMemberRemoved,
        Action::OrgMemberRoleUpdated,
        Action::OrgUpdated,
        Action::SsoConfigCreated,
        Action::SsoConfigDeleted,
        Action::SsoConfigUpdated,
        Action::SsoIdentityLinked,
        Action::SsoIdentityUnlinked,
        Action::SsoLinkRequested,
        Action::SsoLogin,
        Action::SsoMemberProvisioned,
        Action::SsoRoleSynced,
        Action::SsoUserProvisioned,
    ];

    /// The stable wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::AuthLogin => "auth.login",
            Action::AuthLogout => "auth.logout",
            Action::AuthOrganizationSwitched => "auth.organization_switched",
            Action::AuthSessionOthersRevoked => "auth.session.others_revoked",
            Action::AuthSessionReuseDetected => "auth.session.reuse_detected",
            Action::AuthSessionRevoked => "auth.session.revoked",
            Action::AuthUserDeleted => "auth.user.deleted",
            Action::AuthUserEmailVerified => "auth.user.email_verified",
            Action::AuthUserPasswordChanged => "auth.user.password_changed",
            Action::AuthUserPasswordCheck => "auth.user.password_check",
            Action::AuthUserProfileUpdated => "auth.user.profile_updated",
            Action::AuthUserRegistered => "auth.user.registered",
            Action::FileDeleted => "file.deleted",
            Action::FilePurged => "file.purged",
            Action::FileRestored => "file.restored",
            Action::FileUpdated => "file.updated",
            Action::FileUploadSessionAborted => "file.upload_session.aborted",
            Action::FileUploadSessionCreated => "file.upload_session.created",
            Action::FileUploadSessionExpired => "file.upload_session.expired",
            Action::FileUploaded => "file.uploaded",
            Action::OrgCreated => "org.created",
            Action::OrgDeleted => "org.deleted",
            Action::OrgInvitationAccepted => "org.invitation.accepted",
            Action::OrgInvitationCreated => "org.invitation.created",
            Action::OrgInvitationRevoked => "org.invitation.revoked",
            Action::OrgMemberAccountDeleted => "org.member.account_deleted",
            Action::OrgMemberLeft => "org.member.left",
            Action::OrgMemberRemoved => "org.member.removed",
            Action::OrgMemberRoleUpdated => "org.member.role_updated",
            Action::OrgUpdated => "org.updated",
            Action::SsoConfigCreated => "sso.config.created",
            Action::SsoConfigDeleted => "sso.config.deleted",
            Action::SsoConfigUpdated => "sso.config.updated",
            Action::SsoIdentityLinked => "sso.identity.linked",
            Action::SsoIdentityUnlinked => "sso.identity.unlinked",
            Action::SsoLinkRequested => "sso.link.requested",
            Action::SsoLogin => "sso.login",
            Action::SsoMemberProvisioned => "sso.member_provisioned",
            Action::SsoRoleSynced => "sso.role_synced",
            Action::SsoUserProvisioned => "sso.user_provisioned",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_dotted_and_lowercase() {
        let mut seen = std::collections::HashSet::new();
        for action in Action::ALL {
            let name = action.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(name.contains('.') && name == name.to_lowercase(), "{name}");
        }
    }
}
