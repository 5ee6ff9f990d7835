//! Support for this crate's tests and benchmarks: fresh databases on the test server, and
//! schema dumps for comparing migrations. Not part of the store's API.

use diesel::prelude::*;
use diesel::sql_types::Text;

#[cfg(feature = "postgres")]
use crate::PgStore;
#[cfg(feature = "sqlite")]
use crate::SqliteStore;

/// The server the PostgreSQL tests use. `make test` starts one and sets this.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "TEST_DATABASE_URL is not set: the PostgreSQL tests need a server. Run them with \
             `make test` (which starts a throwaway cluster), or start one with `make services` and \
             `set -a; . target/services/env; set +a`, or point TEST_DATABASE_URL at a server you own."
        )
    })
}

/// A database of its own for one test (or one server under test), removed when dropped: a
/// PostgreSQL database on the test server (`DROP DATABASE ... WITH (FORCE)`), or a SQLite file
/// with its journal files.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    kind: TestDatabaseKind,
}

#[derive(Debug)]
enum TestDatabaseKind {
    #[cfg(feature = "postgres")]
    Postgres {
        name: String,
    },
    Sqlite {
        path: std::path::PathBuf,
    },
}

impl TestDatabase {
    #[cfg(feature = "postgres")]
    /// A new, empty database on the test server.
    pub fn postgres() -> Self {
        let admin = admin_url();
        let mut conn = PgConnection::establish(&admin)
            .unwrap_or_else(|e| panic!("cannot connect to TEST_DATABASE_URL ({admin}): {e}"));
        let name = format!("wanllmdb_test_{}", uuid::Uuid::now_v7().simple());
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .expect("create test database");
        let (base, query) = match admin.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (admin.as_str(), String::new()),
        };
        let (server, _) = base
            .rsplit_once('/')
            .expect("TEST_DATABASE_URL has a database name");
        Self {
            url: format!("{server}/{name}{query}"),
            kind: TestDatabaseKind::Postgres { name },
        }
    }

    /// A new SQLite database file under the temporary directory (not created yet).
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join("wanllmdb-tests");
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(format!("{}.db", uuid::Uuid::now_v7().simple()));
        Self {
            url: path.to_string_lossy().into_owned(),
            kind: TestDatabaseKind::Sqlite { path },
        }
    }

    /// `postgres://...` or the SQLite file's path.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.kind {
            #[cfg(feature = "postgres")]
            TestDatabaseKind::Postgres { name } => {
                if let Ok(mut conn) = PgConnection::establish(&admin_url()) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn);
                }
            }
            TestDatabaseKind::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
        }
    }
}

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DumpLine {
    #[diesel(sql_type = Text)]
    pub line: String,
}

#[cfg(feature = "postgres")]
/// The PostgreSQL schema as text: every table, column, index and constraint of `public`.
pub fn pg_schema_dump(store: &PgStore) -> Vec<String> {
    let mut c = store.pool().get().expect("connection");
    let sql = "
        SELECT 'table ' || table_name || '.' || column_name || ' ' || data_type || ' '
               || is_nullable || ' ' || coalesce(column_default, '') || ' '
               || coalesce(collation_name, '') AS line
          FROM information_schema.columns WHERE table_schema = 'public'
        UNION ALL
        SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
        UNION ALL
        SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
          FROM pg_constraint WHERE connamespace = 'public'::regnamespace
        UNION ALL
        SELECT 'sequence ' || sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public'
        ORDER BY 1";
    let mut lines: Vec<String> = diesel::sql_query(sql)
        .load::<DumpLine>(&mut c)
        .expect("dump")
        .into_iter()
        .map(|l| l.line)
        .collect();
    lines.sort();
    lines
}

#[cfg(feature = "sqlite")]
/// The SQLite schema as text: every object in sqlite_master.
pub fn sqlite_schema_dump(store: &SqliteStore) -> Vec<String> {
    let mut c = store.pool().get().expect("connection");
    let sql = "SELECT type || ' ' || name || ' ' || coalesce(sql, '') AS line FROM sqlite_master ORDER BY name";
    diesel::sql_query(sql)
        .load::<DumpLine>(&mut c)
        .expect("dump")
        .into_iter()
        .map(|l| l.line)
        .collect()
}

/// Drops diesel's own bookkeeping table from a dump.
pub fn without_bookkeeping(dump: Vec<String>) -> Vec<String> {
    dump.into_iter()
        .filter(|l| !l.contains("__diesel_schema_migrations"))
        .collect()
}
