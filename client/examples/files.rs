//! Upload a file with a progress line, then download it again (the SDK
//! checks the SHA-256), as a person with a personal access token.
//!
//! ```sh
//! TENANTRY_TOKEN=tnt_pat_… cargo run -p tenantry-client --example files -- ./report.pdf
//! ```

use std::io::Write as _;

use tenantry_client::{
    Tenantry, credentials::PersonalAccessToken, file::v1::FileMetadata, files::Progress,
};

fn show(verb: &'static str) -> impl FnMut(Progress) + Send + 'static {
    move |p: Progress| {
        let total = p.total.map_or("?".into(), |t| t.to_string());
        print!("\r{verb} {} of {total} bytes", p.done);
        let _ = std::io::stdout().flush();
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("TENANTRY_SERVER").unwrap_or("http://127.0.0.1:50051".into());
    let token = std::env::var("TENANTRY_TOKEN")?;
    let path = std::env::args().nth(1).ok_or("usage: files <path>")?;
    let tenantry = Tenantry::builder(url)
        .credentials(PersonalAccessToken::new(token))
        .build()?;

    let uploaded = tenantry
        .upload_path(&path, FileMetadata::default(), show("sent"))
        .await?;
    let file = uploaded.file.unwrap_or_default();
    println!(
        "\nstored {} as {} (sha256 {})",
        file.name, file.id, file.sha256
    );

    let copy = format!("{path}.copy");
    tenantry
        .download_to_path(&file.id, &copy, show("received"))
        .await?;
    println!("\nwrote {copy}");
    Ok(())
}
