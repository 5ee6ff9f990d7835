//! `wanllmdb`: see `wanllmdb --help`.

#[tokio::main]
async fn main() {
    std::process::exit(wanllmdb_cli::run(std::env::args_os()).await);
}
