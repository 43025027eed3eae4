//! Generates the gRPC code of `proto/churn/v1/churn.proto` (tonic + prost) and its file
//! descriptor set (for server reflection). protoc comes from `protoc-bin-vendored`, so building
//! needs no system package.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY-free in edition 2021: build scripts are single-threaded here.
    std::env::set_var("PROTOC", protoc);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("churn_v1_descriptor.bin"))
        .compile_protos(&["proto/churn/v1/churn.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto/churn/v1/churn.proto");
    Ok(())
}
