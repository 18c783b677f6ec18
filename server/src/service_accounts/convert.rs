//! Rows to messages.

use tenantry_proto::serviceaccount::v1 as pb;

use super::keys::KeyAlgorithm;
use crate::{
    clock::to_proto,
    db::rows::{ServiceAccountRow, ServiceCredentialRow},
    error::ApiResult,
};

pub fn account(row: &ServiceAccountRow) -> pb::ServiceAccount {
    pb::ServiceAccount {
        id: row.id.clone(),
        name: row.name.clone(),
        description: row.description.clone(),
        role: row.role.to_proto() as i32,
        disabled: row.disabled_at.is_some(),
        create_time: Some(to_proto(row.created_at)),
        update_time: Some(to_proto(row.updated_at)),
        certificate_sha256: row.certificate_sha256.clone().unwrap_or_default(),
    }
}

fn times(row: &ServiceCredentialRow) -> pb::CredentialTimes {
    pb::CredentialTimes {
        create_time: Some(to_proto(row.created_at)),
        expire_time: Some(to_proto(row.expires_at)),
        revoke_time: row.revoked_at.map(to_proto),
        last_use_time: row.last_used_at.map(to_proto),
    }
}

pub fn key(row: &ServiceCredentialRow) -> ApiResult<pb::ServiceAccountKey> {
    let algorithm = KeyAlgorithm::from_stored(row.algorithm.as_deref().unwrap_or_default())?;
    Ok(pb::ServiceAccountKey {
        id: row.id.clone(),
        service_account_id: row.service_account_id.clone(),
        algorithm: algorithm.to_proto() as i32,
        generated: row.generated,
        times: Some(times(row)),
        public_key_pem: row.public_key_pem.clone().unwrap_or_default(),
    })
}

pub fn secret(row: &ServiceCredentialRow) -> pb::ServiceAccountSecret {
    pb::ServiceAccountSecret {
        id: row.id.clone(),
        service_account_id: row.service_account_id.clone(),
        prefix: row.secret_prefix.clone().unwrap_or_default(),
        times: Some(times(row)),
    }
}
