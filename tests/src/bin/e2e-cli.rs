//! `wanllmdb` for the benchmarks (see Cargo.toml): the same `main` as crates/cli's.

#[tokio::main]
async fn main() {
    std::process::exit(wanllmdb_cli::run(std::env::args_os()).await);
}
