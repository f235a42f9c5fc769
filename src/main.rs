//! The `hebb` binary: parses the command line and hands it to the library.

/// mimalloc keeps freed memory for reuse: the encoder allocates tensors of tens of megabytes
/// every step, and the system allocator's fresh pages for each of them cost more than the maths.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    hebb::cli::main()
}
