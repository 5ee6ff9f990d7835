//! `ArtifactRepo`: artifacts, their listing and filters.

use super::*;

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
            diesel::insert_into(artifacts::table)
                .values(&row)
                .returning(ArtifactRow::as_returning())
                .get_result(c)?
                .try_into()
        })
        .await
    }

    async fn get_artifact(&self, id: ArtifactId) -> StoreResult<Artifact> {
        self.run(move |c| load_artifact(c, id)?.try_into()).await
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
            let mut q = artifacts::table
                .select((ArtifactRow::as_select(), order.number_column()))
                .order(order.order_by())
                .into_boxed::<Db>();
            if let Some(p) = filter.project_id {
                q = q.filter(artifacts::project_id.eq(p.db()));
            }
            if let Some(ps) = &filter.project_ids {
                q = q.filter(
                    artifacts::project_id.eq_any(ps.iter().map(|p| p.db()).collect::<Vec<_>>()),
                );
            }
            if !filter.artifact_types.is_empty() {
                let types: Vec<&str> = filter.artifact_types.iter().map(|t| t.as_str()).collect();
                q = q.filter(artifacts::artifact_type.eq_any(types));
            }
            if let Some(u) = filter.created_by {
                q = q.filter(artifacts::created_by.eq(u.db()));
            }
            if let Some(needle) = &filter.name_contains {
                q = q.filter(
                    lower(artifacts::name)
                        .like(contains_pattern(needle))
                        .escape('\\'),
                );
            }
            if let Some(needle) = &filter.text {
                let pattern = contains_pattern(needle);
                q = q.filter(
                    lower(artifacts::name)
                        .like(pattern.clone())
                        .escape('\\')
                        .or(lower(artifacts::description).like(pattern).escape('\\')),
                );
            }
            if let Some(alias) = &filter.alias {
                q = q.filter(diesel::dsl::exists(
                    aliases::table
                        .filter(aliases::artifact_id.eq(artifacts::id))
                        .filter(aliases::name.eq(alias.as_str().to_owned())),
                ));
            }
            for cond in &filter.metadata.0 {
                q = q.filter(meta_condition("artifacts.metadata", cond));
            }
            if let Some(after) = &page.after {
                q = q.filter(order.after(after));
            }
            let rows: Vec<(ArtifactRow, Option<f64>)> =
                q.limit(i64::from(page.limit) + 1).load(c)?;
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
            row.ok_or_else(|| nf(Entity::Artifact, id))?.try_into()
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
