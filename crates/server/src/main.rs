fn main() -> anyhow::Result<()> {
    wanllmdb_server::main()
}
