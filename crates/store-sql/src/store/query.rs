//! Search in SQL: metadata conditions, sort orders and keyset conditions, built as SQL text
//! with every value bound as a parameter (`Frag`). The semantics are `wanllmdb_domain::query`'s;
//! the backend module supplies how it reads a JSON path (`meta_*` functions).

use diesel::expression::{
    is_aggregate, AppearsOnTable, Expression, SelectableExpression, ValidGrouping,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Double, Text};
use wanllmdb_domain::query::{
    ArtifactSortField, MetaCondition, MetaOp, MetaPath, MetaValue, SortKey, SortValue,
    VersionSortField,
};

use super::super::schema::sql;
use super::super::{
    meta_contains, meta_equals, meta_is_number, meta_is_string, meta_number, meta_text,
};
use super::*;

/// A piece of SQL whose values are bound parameters. Column names and operators come from this
/// crate, never from the caller: metadata keys are checked to `[A-Za-z0-9_-]` by the domain and
/// bound as values anyway.
#[derive(Clone, Debug, Default)]
pub(crate) struct Frag(Vec<Part>);

#[derive(Clone, Debug)]
enum Part {
    Sql(String),
    Text(String),
    Float(f64),
    Int(i64),
    Time(Timestamp),
    Id(DbUuid),
}

impl Frag {
    pub(crate) fn sql(s: impl Into<String>) -> Self {
        Self(vec![Part::Sql(s.into())])
    }

    pub(crate) fn then(mut self, s: impl Into<String>) -> Self {
        self.0.push(Part::Sql(s.into()));
        self
    }

    pub(crate) fn text(mut self, v: impl Into<String>) -> Self {
        self.0.push(Part::Text(v.into()));
        self
    }

    pub(crate) fn float(mut self, v: f64) -> Self {
        self.0.push(Part::Float(v));
        self
    }

    pub(crate) fn append(mut self, other: Frag) -> Self {
        self.0.extend(other.0);
        self
    }

    fn id(mut self, id: uuid::Uuid) -> Self {
        self.0.push(Part::Id(DbUuid(id)));
        self
    }
}

/// A sort value as bound parameters, one per component of its `Order`.
fn components(v: &SortValue) -> Vec<Frag> {
    let one = |p: Part| Frag(vec![p]);
    match v {
        SortValue::Int(i) => vec![one(Part::Int(*i))],
        SortValue::Text(t) => vec![one(Part::Text(t.clone()))],
        SortValue::Time(t) => vec![one(Part::Time(*t))],
        SortValue::Meta(rank, num, text) => vec![
            one(Part::Int(*rank as i64)),
            one(Part::Float(*num)),
            one(Part::Text(text.clone())),
        ],
    }
}

impl Expression for Frag {
    type SqlType = diesel::sql_types::Bool;
}

impl<QS> AppearsOnTable<QS> for Frag {}
impl<QS> SelectableExpression<QS> for Frag {}

impl<GB> ValidGrouping<GB> for Frag {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for Frag {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Db> for Frag {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Db>) -> QueryResult<()> {
        // The text varies with the filter: do not fill the prepared-statement cache with it.
        out.unsafe_to_cache_prepared();
        for p in &self.0 {
            match p {
                Part::Sql(s) => out.push_sql(s),
                Part::Text(t) => out.push_bind_param::<Text, String>(t)?,
                Part::Float(f) => out.push_bind_param::<Double, f64>(f)?,
                Part::Int(i) => out.push_bind_param::<BigInt, i64>(i)?,
                Part::Time(t) => out.push_bind_param::<sql::Instant, Timestamp>(t)?,
                Part::Id(id) => out.push_bind_param::<sql::Id, DbUuid>(id)?,
            }
        }
        Ok(())
    }
}

/// A fragment read as a value of SQL type `ST` (e.g. a selected sort component).
#[derive(Clone, Debug)]
pub(crate) struct Typed<ST>(Frag, std::marker::PhantomData<ST>);

impl<ST: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType> Expression
    for Typed<ST>
{
    type SqlType = ST;
}

impl<ST, QS> AppearsOnTable<QS> for Typed<ST> where Self: Expression {}
impl<ST, QS> SelectableExpression<QS> for Typed<ST> where Self: Expression {}

impl<ST, GB> ValidGrouping<GB> for Typed<ST> {
    type IsAggregate = is_aggregate::Never;
}

impl<ST> QueryId for Typed<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST> QueryFragment<Db> for Typed<ST> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Db>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }
}

/// One condition on the metadata column `col`; never NULL, so `NOT` and `AND` behave.
pub(crate) fn meta_condition(col: &'static str, c: &MetaCondition) -> Frag {
    match (c.op, &c.value) {
        (MetaOp::Eq, v) => meta_equals(col, &c.path, v),
        (MetaOp::Ne, v) => Frag::sql("NOT (")
            .append(meta_equals(col, &c.path, v))
            .then(")"),
        (MetaOp::Contains, v) => meta_contains(col, &c.path, v),
        (op, MetaValue::Number(n)) => Frag::sql("COALESCE(")
            .append(meta_number(col, &c.path))
            .then(format!(" {} ", op.sql()))
            .float(*n)
            .then(", 1 = 0)"),
        (op, MetaValue::String(s)) => Frag::sql("COALESCE(")
            .append(meta_text(col, &c.path))
            .then(format!(" {} ", op.sql()))
            .text(s.clone())
            .then(", 1 = 0)"),
        // The parser allows ordering operators only with numbers and strings.
        (_, MetaValue::Null | MetaValue::Bool(_)) => Frag::sql("1 = 0"),
    }
}

/// Rows after `key` in the index of metadata numbers: `(value, artifact_id) > (x, i)` (`<`
/// descending), one range of `artifact_numbers_sort_idx`.
pub(crate) fn number_after(key: &SortKey, descending: bool) -> Frag {
    let SortValue::Meta(_, x, _) = &key.value else {
        return Frag::sql("1 = 0");
    };
    let op = if descending { "<" } else { ">" };
    Frag::sql(format!(
        "(artifact_numbers.value, artifact_numbers.artifact_id) {op} ("
    ))
    .float(*x)
    .then(", ")
    .id(key.id)
    .then(")")
}

/// A sort order as SQL expressions, each with its direction, then the id in the listing's
/// direction.
pub(crate) struct Order {
    parts: Vec<(Frag, bool)>,
    id: &'static str,
    descending: bool,
}

impl Order {
    fn base(col: &'static str, descending: bool, id: &'static str) -> Self {
        Self {
            parts: vec![(Frag::sql(col), descending)],
            id,
            descending,
        }
    }

    /// Numbers, then strings, then the rest: rank ascending, the value in the chosen direction.
    fn meta(col: &'static str, path: &MetaPath, descending: bool, id: &'static str) -> Self {
        let rank = Frag::sql("(CASE WHEN ")
            .append(meta_is_number(col, path))
            .then(" THEN 0 WHEN ")
            .append(meta_is_string(col, path))
            .then(" THEN 1 ELSE 2 END)");
        let num = Frag::sql("COALESCE(")
            .append(meta_number(col, path))
            .then(", 0)");
        let text = Frag::sql("COALESCE(")
            .append(meta_text(col, path))
            .then(", '')");
        Self {
            parts: vec![(rank, false), (num, descending), (text, descending)],
            id,
            descending,
        }
    }

    pub(crate) fn artifacts(f: &ArtifactSortField, descending: bool) -> Self {
        let id = "artifacts.id";
        match f {
            ArtifactSortField::Name => Self::base("artifacts.name", descending, id),
            ArtifactSortField::CreatedAt => Self::base("artifacts.created_at", descending, id),
            ArtifactSortField::UpdatedAt => Self::base("artifacts.updated_at", descending, id),
            ArtifactSortField::VersionCount => {
                Self::base("artifacts.version_count", descending, id)
            }
            ArtifactSortField::Metadata(p) => Self::meta("artifacts.metadata", p, descending, id),
        }
    }

    pub(crate) fn versions(f: &VersionSortField, descending: bool) -> Self {
        let id = "artifact_versions.id";
        match f {
            VersionSortField::Index => Self::base("artifact_versions.version", descending, id),
            VersionSortField::CreatedAt => {
                Self::base("artifact_versions.created_at", descending, id)
            }
            VersionSortField::TotalSize => {
                Self::base("artifact_versions.total_size", descending, id)
            }
            VersionSortField::Metadata(p) => {
                Self::meta("artifact_versions.metadata", p, descending, id)
            }
        }
    }

    /// The numeric component of a metadata order as the database computes it (NULL for other
    /// orders). Cursors carry this value rather than the one Rust parses from the JSON, which
    /// may differ in the last bit and make a page repeat or skip a row.
    pub(crate) fn number_column(&self) -> Typed<diesel::sql_types::Nullable<Double>> {
        let f = match self.parts.get(1) {
            Some((num, _)) if self.parts.len() == 3 => num.clone(),
            _ => Frag::sql("CAST(NULL AS DOUBLE PRECISION)"),
        };
        Typed(f, std::marker::PhantomData)
    }

    /// The key of a row in this order, with the number the database compared.
    pub(crate) fn key(mut key: SortKey, db_number: Option<f64>) -> SortKey {
        if let (SortValue::Meta(_, n, _), Some(x)) = (&mut key.value, db_number) {
            *n = x;
        }
        key
    }

    /// `ORDER BY` text.
    pub(crate) fn order_by(&self) -> Frag {
        let mut f = Frag::default();
        for (expr, desc) in &self.parts {
            f = f
                .append(expr.clone())
                .then(if *desc { " DESC, " } else { " ASC, " });
        }
        f.then(format!(
            "{} {}",
            self.id,
            if self.descending { "DESC" } else { "ASC" }
        ))
    }

    /// Rows strictly after `key` in this order. A plain field is one row-value comparison,
    /// `(a, id) > (x, i)` (`<` descending), which an index on `(.., a, id)` serves; a metadata
    /// order, whose parts go different ways, expands to
    /// `a > x OR (a = x AND (b < y OR (b = y AND id < i)))`.
    pub(crate) fn after(&self, key: &SortKey) -> Frag {
        let values = components(&key.value);
        if values.len() != self.parts.len() {
            // A cursor of another order (the service refuses those): nothing follows it.
            return Frag::sql("1 = 0");
        }
        let id_op = if self.descending { " < " } else { " > " };
        if let ([(expr, _)], [value]) = (self.parts.as_slice(), values.as_slice()) {
            return Frag::sql("(")
                .append(expr.clone())
                .then(format!(", {}){id_op}(", self.id))
                .append(value.clone())
                .then(", ")
                .id(key.id)
                .then(")");
        }
        let mut tail = Frag::sql(format!("{}{id_op}", self.id)).id(key.id);
        for ((expr, desc), value) in self.parts.iter().zip(values).rev() {
            let op = if *desc { " < " } else { " > " };
            tail = Frag::sql("(")
                .append(expr.clone())
                .then(op)
                .append(value.clone())
                .then(" OR (")
                .append(expr.clone())
                .then(" = ")
                .append(value)
                .then(" AND ")
                .append(tail)
                .then("))");
        }
        tail
    }
}
