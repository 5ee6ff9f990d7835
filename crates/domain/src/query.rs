//! Search over artifacts and versions: metadata filters, sort orders and the cursors that page
//! through them. The rules here are the reference every store implements: the in-memory store
//! evaluates them directly (`MetaFilter::matches`, `sort_key`), the SQL stores translate them, and
//! the contract suite checks that all agree.
//!
//! Filter grammar (`and` is case-insensitive):
//!
//! ```text
//! filter    := condition ( "and" condition )*
//! condition := "metadata." key ( "." key )* op value
//! key       := [A-Za-z0-9_-]{1,64}
//! op        := "=" | "!=" | "<" | "<=" | ">" | ">=" | "contains"
//! value     := JSON number | JSON string | true | false | null
//! ```
//!
//! Semantics: `=` compares type and value (`1` matches `1.0`, never `"1"`); `= null` matches a
//! JSON null or an absent key; `!=` is the negation of `=`. The ordering operators take a number
//! or a string and match only values of that type (strings in byte order). `contains` matches an
//! array holding an element equal to the value.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::entities::{Artifact, ArtifactVersion, Timestamp};
use crate::error::ValidationError;
use crate::types::Metadata;

/// At most this many conditions in one filter.
pub const MAX_CONDITIONS: usize = 16;
/// At most this many keys in a path (`metadata.a.b.c`).
pub const MAX_PATH_DEPTH: usize = 8;
/// Longest filter expression accepted.
pub const MAX_FILTER_BYTES: usize = 4096;
const MAX_KEY_BYTES: usize = 64;

/// A key path into metadata, e.g. `train.lr` -> `["train", "lr"]`. Keys are
/// `[A-Za-z0-9_-]{1,64}`, so a path is safe to spell in any store's JSON path syntax.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MetaPath(Vec<String>);

impl MetaPath {
    /// Parses the part after `metadata.`.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let keys: Vec<String> = s.split('.').map(str::to_owned).collect();
        if keys.len() > MAX_PATH_DEPTH {
            return Err(ValidationError::new(
                "filter",
                format!("metadata path \"{s}\" is deeper than {MAX_PATH_DEPTH} keys"),
            ));
        }
        for k in &keys {
            if !Self::is_key(k) {
                return Err(ValidationError::new(
                    "filter",
                    format!(
                        "bad metadata key \"{k}\" in \"metadata.{s}\": keys are 1 to \
                         {MAX_KEY_BYTES} of A-Z a-z 0-9 _ -"
                    ),
                ));
            }
        }
        Ok(Self(keys))
    }

    fn is_key(k: &str) -> bool {
        !k.is_empty()
            && k.len() <= MAX_KEY_BYTES
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }

    pub fn keys(&self) -> &[String] {
        &self.0
    }

    /// The keys joined by dots, `train.lr`: unambiguous, since keys hold no dots.
    pub fn dotted(&self) -> String {
        self.0.join(".")
    }

    /// The value at this path, if every key exists.
    pub fn lookup<'a>(&self, metadata: &'a Metadata) -> Option<&'a Value> {
        let (first, rest) = self.0.split_first()?;
        let mut v = metadata.as_map().get(first)?;
        for k in rest {
            v = v.as_object()?.get(k)?;
        }
        Some(v)
    }
}

/// Every number in `metadata` that a sort path can name, as (`a.b`, value): through objects
/// only, keys a `MetaPath` accepts, at most `MAX_PATH_DEPTH` deep. SQL stores keep these in an
/// index table, so a listing sorted by a metadata number reads that index in order.
pub fn number_leaves(metadata: &Metadata) -> Vec<(String, f64)> {
    fn walk(
        map: &serde_json::Map<String, Value>,
        prefix: &str,
        depth: usize,
        out: &mut Vec<(String, f64)>,
    ) {
        for (k, v) in map {
            if !MetaPath::is_key(k) {
                continue;
            }
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                Value::Number(n) => out.push((path, n.as_f64().unwrap_or(0.0))),
                Value::Object(inner) if depth < MAX_PATH_DEPTH => {
                    walk(inner, &path, depth + 1, out)
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(metadata.as_map(), "", 1, &mut out);
    out
}

impl fmt::Display for MetaPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "metadata.{}", self.0.join("."))
    }
}

/// A literal on the right of a condition.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaValue {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
}

impl MetaValue {
    fn equals(&self, v: Option<&Value>) -> bool {
        match (self, v) {
            (MetaValue::Null, None | Some(Value::Null)) => true,
            (MetaValue::Bool(b), Some(Value::Bool(x))) => b == x,
            (MetaValue::Number(n), Some(Value::Number(x))) => x.as_f64() == Some(*n),
            (MetaValue::String(s), Some(Value::String(x))) => s == x,
            _ => false,
        }
    }

    /// This literal as JSON (for stores that compare JSON documents).
    pub fn to_json(&self) -> Value {
        match self {
            MetaValue::Null => Value::Null,
            MetaValue::Bool(b) => Value::Bool(*b),
            MetaValue::Number(n) => serde_json::Number::from_f64(*n)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            MetaValue::String(s) => Value::String(s.clone()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

impl MetaOp {
    fn holds(self, o: Ordering) -> bool {
        match self {
            MetaOp::Lt => o == Ordering::Less,
            MetaOp::Le => o != Ordering::Greater,
            MetaOp::Gt => o == Ordering::Greater,
            MetaOp::Ge => o != Ordering::Less,
            MetaOp::Eq => o == Ordering::Equal,
            MetaOp::Ne => o != Ordering::Equal,
            MetaOp::Contains => false,
        }
    }

    /// The SQL spelling of an ordering operator.
    pub fn sql(self) -> &'static str {
        match self {
            MetaOp::Eq => "=",
            MetaOp::Ne => "<>",
            MetaOp::Lt => "<",
            MetaOp::Le => "<=",
            MetaOp::Gt => ">",
            MetaOp::Ge => ">=",
            MetaOp::Contains => "contains",
        }
    }
}

/// `path op value`, checked: ordering operators carry a number or a string.
#[derive(Clone, Debug, PartialEq)]
pub struct MetaCondition {
    pub path: MetaPath,
    pub op: MetaOp,
    pub value: MetaValue,
}

impl MetaCondition {
    pub fn matches(&self, metadata: &Metadata) -> bool {
        let v = self.path.lookup(metadata);
        match self.op {
            MetaOp::Eq => self.value.equals(v),
            MetaOp::Ne => !self.value.equals(v),
            MetaOp::Contains => match v {
                Some(Value::Array(items)) => items.iter().any(|i| self.value.equals(Some(i))),
                _ => false,
            },
            op => match (&self.value, v) {
                (MetaValue::Number(n), Some(Value::Number(x))) => x
                    .as_f64()
                    .and_then(|x| x.partial_cmp(n))
                    .is_some_and(|o| op.holds(o)),
                (MetaValue::String(s), Some(Value::String(x))) => op.holds(x.as_str().cmp(s)),
                _ => false,
            },
        }
    }
}

/// Conditions that must all hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetaFilter(pub Vec<MetaCondition>);

impl MetaFilter {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, metadata: &Metadata) -> bool {
        self.0.iter().all(|c| c.matches(metadata))
    }

    /// Parses a filter expression (blank: no conditions); errors name the token that is wrong
    /// and where it starts.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        if s.trim().is_empty() {
            return Ok(Self::default());
        }
        if s.len() > MAX_FILTER_BYTES {
            return Err(ValidationError::new(
                "filter",
                format!("must be at most {MAX_FILTER_BYTES} bytes"),
            ));
        }
        let mut lexer = Lexer { s, pos: 0 };
        let mut conditions = Vec::new();
        loop {
            conditions.push(lexer.condition()?);
            match lexer.next_token()? {
                None => break,
                Some(t) if t.text.eq_ignore_ascii_case("and") => {}
                Some(t) => return Err(t.unexpected("\"and\" or the end of the filter")),
            }
            if conditions.len() >= MAX_CONDITIONS {
                return Err(ValidationError::new(
                    "filter",
                    format!("at most {MAX_CONDITIONS} conditions"),
                ));
            }
        }
        Ok(Self(conditions))
    }
}

struct Token<'a> {
    text: &'a str,
    at: usize,
    /// A JSON string literal (already decoded).
    string: Option<String>,
}

impl Token<'_> {
    fn unexpected(&self, wanted: &str) -> ValidationError {
        ValidationError::new(
            "filter",
            format!(
                "unexpected {} at byte {}: expected {wanted}",
                quote(self.text),
                self.at
            ),
        )
    }
}

fn quote(s: &str) -> String {
    let s: String = s.chars().take(40).collect();
    format!("\"{}\"", s.replace('"', "\\\""))
}

struct Lexer<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn next_token(&mut self) -> Result<Option<Token<'a>>, ValidationError> {
        let rest = &self.s[self.pos..];
        let trimmed = rest.trim_start();
        self.pos += rest.len() - trimmed.len();
        let at = self.pos;
        let Some(first) = trimmed.chars().next() else {
            return Ok(None);
        };
        let len = if first == '"' {
            // A JSON string: find the closing quote, skipping escapes.
            let mut escaped = false;
            let mut end = None;
            for (i, c) in trimmed.char_indices().skip(1) {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    _ => {}
                }
            }
            end.ok_or_else(|| {
                ValidationError::new("filter", format!("unterminated string at byte {at}"))
            })?
        } else if "=!<>".contains(first) {
            if trimmed[1..].starts_with('=') {
                2
            } else {
                1
            }
        } else {
            trimmed
                .find(|c: char| c.is_whitespace() || "=!<>\"".contains(c))
                .unwrap_or(trimmed.len())
        };
        let text = &trimmed[..len];
        self.pos += len;
        let string = if first == '"' {
            Some(serde_json::from_str::<String>(text).map_err(|_| {
                ValidationError::new("filter", format!("bad string {} at byte {at}", quote(text)))
            })?)
        } else {
            None
        };
        Ok(Some(Token { text, at, string }))
    }

    fn expect(&mut self, wanted: &str) -> Result<Token<'a>, ValidationError> {
        self.next_token()?.ok_or_else(|| {
            ValidationError::new(
                "filter",
                format!("unexpected end of the filter: expected {wanted}"),
            )
        })
    }

    fn condition(&mut self) -> Result<MetaCondition, ValidationError> {
        let field = self.expect("a field such as metadata.accuracy")?;
        let path = match field.text.strip_prefix("metadata.") {
            Some(p) if field.string.is_none() => MetaPath::parse(p)?,
            _ => return Err(field.unexpected("a field such as metadata.accuracy")),
        };
        let op_token = self.expect("an operator")?;
        let op = match op_token.text {
            "=" | "==" => MetaOp::Eq,
            "!=" => MetaOp::Ne,
            "<" => MetaOp::Lt,
            "<=" => MetaOp::Le,
            ">" => MetaOp::Gt,
            ">=" => MetaOp::Ge,
            t if t.eq_ignore_ascii_case("contains") => MetaOp::Contains,
            _ => {
                return Err(op_token.unexpected("one of = != < <= > >= contains"));
            }
        };
        let v = self.expect("a value")?;
        let value = match (&v.string, v.text) {
            (Some(s), _) => MetaValue::String(s.clone()),
            (None, "true") => MetaValue::Bool(true),
            (None, "false") => MetaValue::Bool(false),
            (None, "null") => MetaValue::Null,
            (None, t) => match serde_json::from_str::<serde_json::Number>(t)
                .ok()
                .and_then(|n| n.as_f64())
            {
                Some(n) => MetaValue::Number(n),
                None => return Err(v.unexpected("a number, a \"string\", true, false or null")),
            },
        };
        let ordering = matches!(op, MetaOp::Lt | MetaOp::Le | MetaOp::Gt | MetaOp::Ge);
        if ordering && !matches!(value, MetaValue::Number(_) | MetaValue::String(_)) {
            return Err(v.unexpected(&format!("a number or a string after {}", op_token.text)));
        }
        Ok(MetaCondition { path, op, value })
    }
}

// ---------------------------------------------------------------------------------------------
// Sorting

/// The fields artifacts sort by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArtifactSortField {
    Name,
    CreatedAt,
    UpdatedAt,
    VersionCount,
    Metadata(MetaPath),
}

/// The fields versions sort by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionSortField {
    Index,
    CreatedAt,
    TotalSize,
    Metadata(MetaPath),
}

/// A field and a direction, parsed from `name` or `-name` (descending).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sort<F> {
    pub field: F,
    pub descending: bool,
}

fn split_sort(s: &str) -> (&str, bool) {
    match s.strip_prefix('-') {
        Some(rest) => (rest, true),
        None => (s.strip_prefix('+').unwrap_or(s), false),
    }
}

fn bad_sort(s: &str, allowed: &str) -> ValidationError {
    ValidationError::new(
        "sort",
        format!(
            "unknown sort {}: expected {allowed} or metadata.<key>, with - for descending",
            quote(s)
        ),
    )
}

impl Sort<ArtifactSortField> {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let (name, descending) = split_sort(s.trim());
        let field = match name {
            "name" => ArtifactSortField::Name,
            "created_at" => ArtifactSortField::CreatedAt,
            "updated_at" => ArtifactSortField::UpdatedAt,
            "version_count" => ArtifactSortField::VersionCount,
            _ => match name.strip_prefix("metadata.") {
                Some(p) => ArtifactSortField::Metadata(
                    MetaPath::parse(p).map_err(|e| ValidationError::new("sort", e.message))?,
                ),
                None => return Err(bad_sort(s, "name, created_at, updated_at, version_count")),
            },
        };
        Ok(Self { field, descending })
    }

    /// The sort key of an artifact under this order (what the cursor carries).
    pub fn key(&self, a: &Artifact) -> SortKey {
        let value = match &self.field {
            ArtifactSortField::Name => SortValue::Text(a.name.as_str().to_owned()),
            ArtifactSortField::CreatedAt => SortValue::Time(a.created_at),
            ArtifactSortField::UpdatedAt => SortValue::Time(a.updated_at),
            ArtifactSortField::VersionCount => SortValue::Int(i64::from(a.version_count)),
            ArtifactSortField::Metadata(p) => SortValue::meta(p.lookup(&a.metadata)),
        };
        SortKey {
            value,
            id: a.id.into_uuid(),
        }
    }
}

impl Sort<ArtifactSortField> {
    /// Whether a cursor could come from a listing in this order.
    pub fn accepts(&self, key: &SortKey) -> bool {
        matches!(
            (&self.field, &key.value),
            (ArtifactSortField::Name, SortValue::Text(_))
                | (
                    ArtifactSortField::CreatedAt | ArtifactSortField::UpdatedAt,
                    SortValue::Time(_)
                )
                | (ArtifactSortField::VersionCount, SortValue::Int(_))
                | (ArtifactSortField::Metadata(_), SortValue::Meta(..))
        )
    }
}

impl Default for Sort<ArtifactSortField> {
    fn default() -> Self {
        Self {
            field: ArtifactSortField::CreatedAt,
            descending: false,
        }
    }
}

impl Sort<VersionSortField> {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let (name, descending) = split_sort(s.trim());
        let field = match name {
            "index" | "version" => VersionSortField::Index,
            "created_at" => VersionSortField::CreatedAt,
            "total_size" => VersionSortField::TotalSize,
            _ => match name.strip_prefix("metadata.") {
                Some(p) => VersionSortField::Metadata(
                    MetaPath::parse(p).map_err(|e| ValidationError::new("sort", e.message))?,
                ),
                None => return Err(bad_sort(s, "index, created_at, total_size")),
            },
        };
        Ok(Self { field, descending })
    }

    pub fn key(&self, v: &ArtifactVersion) -> SortKey {
        let value = match &self.field {
            VersionSortField::Index => SortValue::Int(i64::from(v.index.0)),
            VersionSortField::CreatedAt => SortValue::Time(v.created_at),
            VersionSortField::TotalSize => {
                SortValue::Int(i64::try_from(v.total_size).unwrap_or(i64::MAX))
            }
            VersionSortField::Metadata(p) => SortValue::meta(p.lookup(&v.metadata)),
        };
        SortKey {
            value,
            id: v.id.into_uuid(),
        }
    }
}

impl Sort<VersionSortField> {
    /// Whether a cursor could come from a listing in this order.
    pub fn accepts(&self, key: &SortKey) -> bool {
        matches!(
            (&self.field, &key.value),
            (
                VersionSortField::Index | VersionSortField::TotalSize,
                SortValue::Int(_)
            ) | (VersionSortField::CreatedAt, SortValue::Time(_))
                | (VersionSortField::Metadata(_), SortValue::Meta(..))
        )
    }
}

impl Default for Sort<VersionSortField> {
    fn default() -> Self {
        Self {
            field: VersionSortField::Index,
            descending: false,
        }
    }
}

/// Where a metadata value sorts: numbers first, then strings, then everything else (absent,
/// null, booleans, objects, arrays) last in either direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MetaRank {
    Number = 0,
    String = 1,
    Other = 2,
}

/// The value a row sorts by.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum SortValue {
    Int(i64),
    Text(String),
    Time(Timestamp),
    /// A metadata value as (rank, number or 0, string or "").
    Meta(MetaRank, f64, String),
}

impl SortValue {
    pub fn meta(v: Option<&Value>) -> Self {
        match v {
            Some(Value::Number(n)) => {
                SortValue::Meta(MetaRank::Number, n.as_f64().unwrap_or(0.0), String::new())
            }
            Some(Value::String(s)) => SortValue::Meta(MetaRank::String, 0.0, s.clone()),
            _ => SortValue::Meta(MetaRank::Other, 0.0, String::new()),
        }
    }

    /// Compares two values in the given direction. Metadata ranks always ascend (values
    /// without a number or string stay last); values of different kinds never meet in one
    /// listing, and compare equal.
    pub fn compare(&self, other: &Self, descending: bool) -> Ordering {
        let dir = |o: Ordering| if descending { o.reverse() } else { o };
        match (self, other) {
            (SortValue::Int(a), SortValue::Int(b)) => dir(a.cmp(b)),
            (SortValue::Text(a), SortValue::Text(b)) => dir(a.cmp(b)),
            (SortValue::Time(a), SortValue::Time(b)) => dir(a.cmp(b)),
            (SortValue::Meta(ra, na, sa), SortValue::Meta(rb, nb, sb)) => {
                ra.cmp(rb).then_with(|| {
                    dir(na
                        .partial_cmp(nb)
                        .unwrap_or(Ordering::Equal)
                        .then_with(|| sa.cmp(sb)))
                })
            }
            _ => Ordering::Equal,
        }
    }
}

/// A row's position in a listing: its sort value, then its id to break ties (in the same
/// direction, so a listing by a plain field is one index range: `(field, id) > (v, i)`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SortKey {
    pub value: SortValue,
    pub id: Uuid,
}

impl SortKey {
    pub fn compare(&self, other: &Self, descending: bool) -> Ordering {
        let by_id = self.id.cmp(&other.id);
        self.value
            .compare(&other.value, descending)
            .then(if descending { by_id.reverse() } else { by_id })
    }
}

/// The first `take` rows after `after` in sort order, without sorting the rest: what the
/// in-memory store answers a page with (linear in the rows, plus `take log take`).
pub fn page_of<'a, T>(
    rows: impl Iterator<Item = &'a T>,
    key: impl Fn(&T) -> SortKey,
    descending: bool,
    after: Option<&SortKey>,
    take: usize,
) -> Vec<&'a T> {
    let mut keyed: Vec<(SortKey, &T)> = rows
        .map(|r| (key(r), r))
        .filter(|(k, _)| after.is_none_or(|a| k.compare(a, descending) == Ordering::Greater))
        .collect();
    let cmp = |a: &(SortKey, &T), b: &(SortKey, &T)| a.0.compare(&b.0, descending);
    if take == 0 {
        return Vec::new();
    }
    if keyed.len() > take {
        keyed.select_nth_unstable_by(take - 1, cmp);
        keyed.truncate(take);
    }
    keyed.sort_by(cmp);
    keyed.into_iter().map(|(_, r)| r).collect()
}

/// Sorts rows and keeps those after `after`: the reference the contract suite compares with.
pub fn sort_and_seek<T>(
    rows: &mut Vec<T>,
    key: impl Fn(&T) -> SortKey,
    descending: bool,
    after: Option<&SortKey>,
) {
    let mut keyed: Vec<(SortKey, T)> = rows.drain(..).map(|r| (key(&r), r)).collect();
    keyed.sort_by(|a, b| a.0.compare(&b.0, descending));
    rows.extend(
        keyed
            .into_iter()
            .filter(|(k, _)| after.is_none_or(|a| k.compare(a, descending) == Ordering::Greater))
            .map(|(_, r)| r),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(v: Value) -> Metadata {
        Metadata::parse(v).expect("object")
    }

    #[test]
    fn number_leaves_are_what_a_sort_path_can_name() {
        let deep =
            (0..MAX_PATH_DEPTH).fold(serde_json::json!(7), |v, _| serde_json::json!({ "d": v }));
        let m = meta(serde_json::json!({
            "accuracy": 0.93, "name": "x", "tags": [1, 2], "train": {"lr": 0.001, "ok": true},
            "bad key": 1, "a.b": 2, "deep": deep, "n": null
        }));
        let mut got = number_leaves(&m);
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            vec![
                ("accuracy".to_owned(), 0.93),
                ("train.lr".to_owned(), 0.001)
            ],
            "arrays, strings, invalid keys and paths deeper than {MAX_PATH_DEPTH} are left out"
        );
        let seven = MetaPath::parse(&["d"; MAX_PATH_DEPTH - 1].join(".")).expect("path");
        let within = meta(
            serde_json::json!({ "d": (0..MAX_PATH_DEPTH - 2).fold(serde_json::json!(3), |v, _| serde_json::json!({ "d": v })) }),
        );
        assert_eq!(number_leaves(&within), vec![(seven.dotted(), 3.0)]);
    }

    #[test]
    fn parses_and_evaluates_conditions() {
        let m = meta(serde_json::json!({
            "framework": "torch", "accuracy": 0.93, "tags": ["prod", "cnn"],
            "train": {"lr": 0.001, "epochs": 10}, "ok": true, "none": null
        }));
        let yes = [
            r#"metadata.framework = "torch""#,
            "metadata.accuracy >= 0.9",
            "metadata.accuracy>0.9 AND metadata.ok = true",
            r#"metadata.tags contains "prod""#,
            "metadata.train.epochs = 10.0",
            "metadata.train.lr < 1e-2",
            "metadata.none = null",
            "metadata.absent = null",
            r#"metadata.framework != "jax""#,
            r#"metadata.framework >= "t""#,
            "metadata.framework != null",
        ];
        for f in yes {
            assert!(MetaFilter::parse(f).expect(f).matches(&m), "{f}");
        }
        let no = [
            r#"metadata.framework = "jax""#,
            "metadata.accuracy < 0.9",
            r#"metadata.accuracy = "0.93""#,
            r#"metadata.tags contains "dev""#,
            r#"metadata.framework contains "t""#,
            "metadata.absent != null",
            "metadata.ok = false",
            "metadata.train > 1",
            "metadata.train.lr > 1 and metadata.ok = true",
        ];
        for f in no {
            assert!(!MetaFilter::parse(f).expect(f).matches(&m), "{f}");
        }
    }

    #[test]
    fn bad_filters_name_the_token() {
        for (f, token) in [
            ("metadata.a ~ 1", "\"~\""),
            ("metadata.a = 1 or metadata.b = 2", "\"or\""),
            ("name = 1", "\"name\""),
            ("metadata.a = torch", "\"torch\""),
            ("metadata.a > true", "\"true\""),
            ("metadata.a' OR 1=1 -- = 1", "a'"),
            ("metadata..a = 1", "\"\""),
            (r#"metadata.a = "open"#, "unterminated"),
            ("metadata.a =", "end of the filter"),
        ] {
            let e = MetaFilter::parse(f).expect_err(f);
            assert_eq!(e.field, "filter");
            assert!(e.message.contains(token), "{f}: {}", e.message);
        }
    }

    #[test]
    fn sorts_numbers_then_strings_then_the_rest_in_both_directions() {
        let p = MetaPath::parse("acc").expect("path");
        let vals = [
            serde_json::json!({"acc": 0.5}),
            serde_json::json!({"acc": "b"}),
            serde_json::json!({}),
            serde_json::json!({"acc": 0.9}),
            serde_json::json!({"acc": "a"}),
        ];
        let keys: Vec<SortKey> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| SortKey {
                value: SortValue::meta(p.lookup(&meta(v.clone()))),
                id: Uuid::from_u128(i as u128),
            })
            .collect();
        let mut asc: Vec<usize> = (0..5).collect();
        asc.sort_by(|a, b| keys[*a].compare(&keys[*b], false));
        assert_eq!(asc, [0, 3, 4, 1, 2]);
        let mut desc: Vec<usize> = (0..5).collect();
        desc.sort_by(|a, b| keys[*a].compare(&keys[*b], true));
        assert_eq!(desc, [3, 0, 1, 4, 2]);
        // Ties break by id, in the listing's direction.
        let tie = |id| SortKey {
            value: SortValue::Int(1),
            id: Uuid::from_u128(id),
        };
        assert_eq!(tie(1).compare(&tie(2), false), Ordering::Less);
        assert_eq!(tie(1).compare(&tie(2), true), Ordering::Greater);
    }

    #[test]
    fn sort_specs_parse() {
        assert_eq!(
            Sort::<ArtifactSortField>::parse("-metadata.train.acc").expect("sort"),
            Sort {
                field: ArtifactSortField::Metadata(MetaPath::parse("train.acc").expect("p")),
                descending: true
            }
        );
        assert!(Sort::<ArtifactSortField>::parse("size").is_err());
        assert!(Sort::<VersionSortField>::parse("total_size").is_ok());
        assert!(Sort::<VersionSortField>::parse("metadata.a;drop").is_err());
    }
}
