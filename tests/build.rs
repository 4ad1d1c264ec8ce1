// The same libtorch link flags as the trainer's (rpath, torch_cuda): link args do not pass
// from a dependency to the binaries that use it, and these tests link the trainer.
include!("../trainer/build.rs");
