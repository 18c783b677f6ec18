//! A service calls as its service account, with the key file that
//! `tenantry service-accounts keys add … --out key.json` wrote. The SDK
//! signs a fresh assertion whenever the access token is about to expire.
//!
//! ```sh
//! TENANTRY_KEY_FILE=key.json cargo run -p tenantry-client --example service_account
//! ```

use tenantry_client::{Tenantry, credentials::KeyFile, org::v1::GetOrganizationRequest};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("TENANTRY_SERVER").unwrap_or("http://127.0.0.1:50051".into());
    let key = KeyFile::from_path(std::env::var("TENANTRY_KEY_FILE")?)?;
    println!("signing in as service account {}", key.client_id());

    let tenantry = Tenantry::builder(url)
        .user_agent("billing-worker/2.3")
        .credentials(key)
        .build()?;

    let org = tenantry
        .org()
        .get_organization(GetOrganizationRequest {})
        .await?
        .into_inner()
        .organization
        .unwrap_or_default();
    println!("working in {} ({})", org.name, org.id);
    Ok(())
}
