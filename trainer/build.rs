// Link flags for libtorch that must reach only this crate's binaries and tests.
//
// * `--no-as-needed -ltorch_cuda`: nothing references libtorch_cuda directly, so without this
//   the linker drops it and `Device::cuda_if_available()` silently answers CPU on a GPU box.
// * an rpath to libtorch's `lib/`: binaries and test binaries run with nothing exported.
//
// They live here rather than in `rustflags` because rustflags also reach every dependency's
// build script, which then fails to find `-ltorch_cuda`.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let Ok(libtorch) = std::env::var("LIBTORCH") else {
        return;
    };
    let lib = PathBuf::from(libtorch).join("lib");
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
}
