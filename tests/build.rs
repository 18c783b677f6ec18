//! Compiles the baseline contract of the benchmarks (protox, no system
//! protoc).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=bench/baseline.proto");
    let fds = protox::compile(["baseline.proto"], ["bench"])?;
    tonic_prost_build::configure()
        .bytes(".baseline.v1")
        .compile_fds(fds)?;
    Ok(())
}
