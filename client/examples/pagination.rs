//! Walk every file of the organization, page by page, as one stream; and
//! show what a failed call carries.
//!
//! ```sh
//! TENANTRY_TOKEN=tnt_pat_… cargo run -p tenantry-client --example pagination
//! ```

use futures::TryStreamExt as _;
use tenantry_client::{
    Tenantry, credentials::PersonalAccessToken, file::v1::ListFilesRequest,
    org::v1::ListMembersRequest,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("TENANTRY_SERVER").unwrap_or("http://127.0.0.1:50051".into());
    let token = std::env::var("TENANTRY_TOKEN")?;
    let tenantry = Tenantry::builder(url)
        .credentials(PersonalAccessToken::new(token))
        .build()?;

    let request = ListFilesRequest {
        page_size: 100,
        ..ListFilesRequest::default()
    };
    let mut files = tenantry.list(request);
    let (mut count, mut bytes) = (0, 0);
    while let Some(file) = files.try_next().await? {
        count += 1;
        bytes += file.size_bytes;
    }
    println!("{count} files, {bytes} bytes");

    match tenantry
        .list(ListMembersRequest::default())
        .try_collect::<Vec<_>>()
        .await
    {
        Ok(members) => println!("{} members", members.len()),
        Err(error) => {
            // One error type: code, message, field violations, retry hint.
            eprintln!("{:?}: {}", error.code(), error.message());
            for violation in error.field_violations() {
                eprintln!("  {}: {}", violation.field, violation.description);
            }
            if let Some(id) = error.request_id() {
                eprintln!("  (request id {id})");
            }
        }
    }
    Ok(())
}
