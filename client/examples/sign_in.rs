//! A person signs in with a password and calls the API. The session is kept
//! in a file, so the next run refreshes it instead of signing in again.
//!
//! ```sh
//! TENANTRY_EMAIL=ann@example.com TENANTRY_PASSWORD=… cargo run -p tenantry-client --example sign_in
//! ```

use tenantry_client::{
    Tenantry,
    auth::v1::GetMeRequest,
    credentials::{FileStore, Password},
    org::v1::ListMyOrganizationsRequest,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("TENANTRY_SERVER").unwrap_or("http://127.0.0.1:50051".into());
    let email = std::env::var("TENANTRY_EMAIL")?;
    let password = std::env::var("TENANTRY_PASSWORD")?;
    let session = std::env::temp_dir().join("tenantry-example-session.json");

    let tenantry = Tenantry::builder(url)
        .user_agent("sign-in-example/1.0")
        .credentials(Password::new(email, password).store(FileStore::new(session)))
        .build()?;

    let me = tenantry.auth().get_me(GetMeRequest {}).await?.into_inner();
    let user = me.user.unwrap_or_default();
    println!("signed in as {} <{}>", user.display_name, user.email);

    let mine = tenantry
        .org()
        .list_my_organizations(ListMyOrganizationsRequest::default())
        .await?
        .into_inner();
    for membership in mine.memberships {
        let org = membership.organization.unwrap_or_default();
        println!("member of {} ({})", org.name, org.slug);
    }
    Ok(())
}
