//! `wanllmdb-server` for the end-to-end scenarios and benchmarks (see Cargo.toml).

fn main() -> anyhow::Result<()> {
    wanllmdb_server::main()
}
