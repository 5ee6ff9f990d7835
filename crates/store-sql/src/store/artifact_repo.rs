//! `ArtifactRepo`: artifacts, their listing and filters.

use super::*;
use wanllmdb_domain::query::{MetaRank, SortValue};

/// Narrows a boxed query over `artifacts` (alone or joined) to the artifacts `filter` admits,
/// the project through the column `$project`.
macro_rules! artifact_filters {
    ($q:ident, $filter:expr, $project:expr) => {{
        let filter: &ArtifactFilter = &$filter;
        if let Some(p) = filter.project_id {
            $q = $q.filter($project.eq(p.db()));
        }
        if let Some(ps) = &filter.project_ids {
            $q = $q.filter($project.eq_any(ps.iter().map(|p| p.db()).collect::<Vec<_>>()));
        }
        if !filter.artifact_types.is_empty() {
            let types: Vec<&str> = filter.artifact_types.iter().map(|t| t.as_str()).collect();
            $q = $q.filter(artifacts::artifact_type.eq_any(types));
        }
        if let Some(u) = filter.created_by {
            $q = $q.filter(artifacts::created_by.eq(u.db()));
        }
        if let Some(needle) = &filter.name_contains {
            $q = $q.filter(
                lower(artifacts::name)
                    .like(contains_pattern(needle))
                    .escape('\\'),
            );
        }
        if let Some(needle) = &filter.text {
            let pattern = contains_pattern(needle);
            $q = $q.filter(
                lower(artifacts::name)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(artifacts::description).like(pattern).escape('\\')),
            );
        }
        if let Some(alias) = &filter.alias {
            $q = $q.filter(diesel::dsl::exists(
                aliases::table
                    .filter(aliases::artifact_id.eq(artifacts::id))
                    .filter(aliases::name.eq(alias.as_str().to_owned())),
            ));
        }
        for cond in &filter.metadata.0 {
            $q = $q.filter(meta_condition("artifacts.metadata", cond));
        }
    }};
}

/// Up to `want` artifacts with a number at `path`, in the order of that number, through the
/// index `(project_id, path, value, artifact_id)`.
fn number_page(
    c: &mut Conn,
    filter: &ArtifactFilter,
    path: &str,
    descending: bool,
    after: Option<&SortKey>,
    want: usize,
) -> DbResult<Vec<(ArtifactRow, Option<f64>)>> {
    let mut q = artifact_numbers::table
        .inner_join(artifacts::table.on(artifacts::id.eq(artifact_numbers::artifact_id)))
        .filter(artifact_numbers::path.eq(path.to_owned()))
        .select((ArtifactRow::as_select(), artifact_numbers::value.nullable()))
        .into_boxed::<Db>();
    q = if descending {
        q.order((
            artifact_numbers::value.desc(),
            artifact_numbers::artifact_id.desc(),
        ))
    } else {
        q.order((
            artifact_numbers::value.asc(),
            artifact_numbers::artifact_id.asc(),
        ))
    };
    // The project through the index table only: a condition on `artifacts.project_id` would
    // tempt SQLite (without statistics) to drive the join from `artifacts` and sort afterwards.
    artifact_filters!(q, filter, artifact_numbers::project_id);
    if let Some(key) = after {
        q = q.filter(query::number_after(key, descending));
    }
    Ok(q.limit(want as i64).load(c)?)
}

#[async_trait]
impl ArtifactRepo for Store {
    async fn create_artifact(&self, a: Artifact) -> StoreResult<Artifact> {
        self.tx(move |c| {
            load_project(c, a.project_id)?;
            let row = ArtifactRow {
                id: a.id.db(),
                project_id: a.project_id.db(),
                name: a.name.into_string(),
                artifact_type: a.artifact_type.as_str().to_owned(),
                description: a.description.into_string(),
                metadata: json(&a.metadata),
                created_by: a.created_by.db(),
                version_count: 0,
                next_version_index: 0,
                latest_version: None,
                created_at: a.created_at,
                updated_at: a.updated_at,
            };
            let row: ArtifactRow = diesel::insert_into(artifacts::table)
                .values(&row)
                .returning(ArtifactRow::as_returning())
                .get_result(c)?;
            write_numbers(c, &row, &a.metadata)?;
            row.try_into()
        })
        .await
    }

    async fn get_artifact(&self, id: ArtifactId) -> StoreResult<Artifact> {
        self.run(move |c| load_artifact(c, id)?.try_into()).await
    }

    async fn count_artifacts(&self, projects: Vec<ProjectId>) -> StoreResult<Vec<u64>> {
        self.run(move |c| {
            let ids: Vec<DbUuid> = projects.iter().map(|p| p.db()).collect();
            let counts: Vec<(DbUuid, i64)> = artifacts::table
                .filter(artifacts::project_id.eq_any(&ids))
                .group_by(artifacts::project_id)
                .select((artifacts::project_id, diesel::dsl::count_star()))
                .load(c)?;
            let counts: std::collections::HashMap<_, i64> = counts.into_iter().collect();
            Ok(ids
                .iter()
                .map(|id| counts.get(id).map_or(0, |n| u64::try_from(*n).unwrap_or(0)))
                .collect())
        })
        .await
    }

    async fn get_artifact_by_name(
        &self,
        project: ProjectId,
        name: &ArtifactName,
    ) -> StoreResult<Artifact> {
        let name = name.clone();
        self.run(move |c| {
            let row: Option<ArtifactRow> = artifacts::table
                .filter(artifacts::project_id.eq(project.db()))
                .filter(artifacts::name.eq(name.as_str()))
                .select(ArtifactRow::as_select())
                .first(c)
                .optional()?;
            row.ok_or_else(|| nf(Entity::Artifact, &name))?.try_into()
        })
        .await
    }

    async fn list_artifacts(
        &self,
        filter: &ArtifactFilter,
        sort: &Sort<ArtifactSortField>,
        page: PageRequest<SortKey>,
    ) -> StoreResult<Page<Artifact, SortKey>> {
        let filter = filter.clone();
        let sort = sort.clone();
        self.run(move |c| {
            let order = Order::artifacts(&sort.field, sort.descending);
            let want = page.limit as usize + 1;
            let mut rows: Vec<(ArtifactRow, Option<f64>)> = Vec::new();
            let mut numbers_indexed = None;
            if let ArtifactSortField::Metadata(path) = &sort.field {
                // Numbers come first in either direction, read from the index table in order;
                // the rest (strings, other values, no value) after them.
                let path = path.dotted();
                if page
                    .after
                    .as_ref()
                    .is_none_or(|k| matches!(k.value, SortValue::Meta(MetaRank::Number, ..)))
                {
                    rows = number_page(
                        c,
                        &filter,
                        &path,
                        sort.descending,
                        page.after.as_ref(),
                        want,
                    )?;
                }
                numbers_indexed = Some(path);
            }
            if rows.len() < want {
                let mut q = artifacts::table
                    .select((ArtifactRow::as_select(), order.number_column()))
                    .order(order.order_by())
                    .into_boxed::<Db>();
                artifact_filters!(q, filter, artifacts::project_id);
                if let Some(path) = numbers_indexed {
                    q = q.filter(diesel::dsl::not(diesel::dsl::exists(
                        artifact_numbers::table
                            .filter(artifact_numbers::artifact_id.eq(artifacts::id))
                            .filter(artifact_numbers::path.eq(path)),
                    )));
                }
                if let Some(after) = &page.after {
                    q = q.filter(order.after(after));
                }
                rows.extend(
                    q.limit((want - rows.len()) as i64)
                        .load::<(ArtifactRow, Option<f64>)>(c)?,
                );
            }
            let rows = rows
                .into_iter()
                .map(|(r, n)| Ok((Artifact::try_from(r)?, n)))
                .collect::<DbResult<Vec<_>>>()?;
            let page = Page::from_overfetch(rows, page.limit, |(a, n)| Order::key(sort.key(a), *n));
            Ok(Page {
                items: page.items.into_iter().map(|(a, _)| a).collect(),
                next: page.next,
            })
        })
        .await
    }

    async fn update_artifact(
        &self,
        id: ArtifactId,
        patch: Patch,
        at: Timestamp,
    ) -> StoreResult<Artifact> {
        self.tx(move |c| {
            let changes = ArtifactChanges {
                description: patch.description.map(Description::into_string),
                metadata: patch.metadata.as_ref().map(json),
                updated_at: at,
            };
            let row: Option<ArtifactRow> = diesel::update(artifacts::table.find(id.db()))
                .set(&changes)
                .returning(ArtifactRow::as_returning())
                .get_result(c)
                .optional()?;
            let row = row.ok_or_else(|| nf(Entity::Artifact, id))?;
            if let Some(metadata) = &patch.metadata {
                diesel::delete(
                    artifact_numbers::table.filter(artifact_numbers::artifact_id.eq(row.id)),
                )
                .execute(c)?;
                write_numbers(c, &row, metadata)?;
            }
            row.try_into()
        })
        .await
    }

    async fn delete_artifact(&self, id: ArtifactId) -> StoreResult<Artifact> {
        self.tx(move |c| {
            let row = locked_artifact(c, id)?;
            // Versions cascade to files, aliases, lineage edges and downloads.
            diesel::delete(artifacts::table.find(id.db())).execute(c)?;
            row.try_into()
        })
        .await
    }
}

/// The numbers a sort can name in `metadata`, into the index table.
fn write_numbers(c: &mut Conn, artifact: &ArtifactRow, metadata: &Metadata) -> DbResult<()> {
    let rows: Vec<NumberRow> = wanllmdb_domain::query::number_leaves(metadata)
        .into_iter()
        .map(|(path, value)| NumberRow {
            artifact_id: artifact.id,
            project_id: artifact.project_id,
            path,
            value,
        })
        .collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        diesel::insert_into(artifact_numbers::table)
            .values(chunk)
            .execute(c)?;
    }
    Ok(())
}
