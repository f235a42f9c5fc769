//! The `hebb` binary: parses the command line and hands it to the library (which also declares
//! the allocator, mimalloc: `compute::memory`).

fn main() -> std::process::ExitCode {
    hebb::cli::main()
}
