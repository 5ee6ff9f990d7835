//! Column values shared by both backends: `DbUuid` (native `uuid` on PostgreSQL, canonical text on
//! SQLite) and `DbJson` (`jsonb` on PostgreSQL, checked text on SQLite).

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use uuid::Uuid;

#[cfg(feature = "sqlite")]
pub mod sqlite_sql {
    /// A UUID stored as its canonical lowercase hyphenated text.
    #[derive(
        Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
    )]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct UuidText;

    /// A JSON document stored as text.
    #[derive(
        Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
    )]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct JsonText;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[cfg_attr(feature = "postgres", diesel(sql_type = diesel::sql_types::Uuid))]
#[cfg_attr(feature = "sqlite", diesel(sql_type = sqlite_sql::UuidText))]
pub struct DbUuid(pub Uuid);

#[derive(Debug, Clone, PartialEq, AsExpression, FromSqlRow)]
#[cfg_attr(feature = "postgres", diesel(sql_type = diesel::sql_types::Jsonb))]
#[cfg_attr(feature = "sqlite", diesel(sql_type = sqlite_sql::JsonText))]
pub struct DbJson(pub serde_json::Value);

#[cfg(feature = "postgres")]
mod pg_impls {
    use super::*;
    use diesel::pg::{Pg, PgValue};
    use diesel::sql_types;

    impl ToSql<sql_types::Uuid, Pg> for DbUuid {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
            <Uuid as ToSql<sql_types::Uuid, Pg>>::to_sql(&self.0, out)
        }
    }

    impl FromSql<sql_types::Uuid, Pg> for DbUuid {
        fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
            <Uuid as FromSql<sql_types::Uuid, Pg>>::from_sql(value).map(DbUuid)
        }
    }

    impl ToSql<sql_types::Jsonb, Pg> for DbJson {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
            <serde_json::Value as ToSql<sql_types::Jsonb, Pg>>::to_sql(&self.0, out)
        }
    }

    impl FromSql<sql_types::Jsonb, Pg> for DbJson {
        fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
            <serde_json::Value as FromSql<sql_types::Jsonb, Pg>>::from_sql(value).map(DbJson)
        }
    }
}

#[cfg(feature = "sqlite")]
mod sqlite_impls {
    use super::sqlite_sql::{JsonText, UuidText};
    use super::*;
    use diesel::serialize::IsNull;
    use diesel::sql_types::Text;
    use diesel::sqlite::{Sqlite, SqliteValue};

    impl ToSql<UuidText, Sqlite> for DbUuid {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
            out.set_value(self.0.hyphenated().to_string());
            Ok(IsNull::No)
        }
    }

    impl FromSql<UuidText, Sqlite> for DbUuid {
        fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
            let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
            Ok(DbUuid(Uuid::parse_str(&text)?))
        }
    }

    impl ToSql<JsonText, Sqlite> for DbJson {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
            out.set_value(serde_json::to_string(&self.0)?);
            Ok(IsNull::No)
        }
    }

    impl FromSql<JsonText, Sqlite> for DbJson {
        fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
            let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
            Ok(DbJson(serde_json::from_str(&text)?))
        }
    }
}
