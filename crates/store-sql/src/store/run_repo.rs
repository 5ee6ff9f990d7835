//! `RunRepo`: runs and their lineage edges.

use super::*;

#[async_trait]
impl RunRepo for Store {
    async fn create_run(&self, run: Run) -> StoreResult<Run> {
        self.tx(move |c| {
            load_project(c, run.project_id)?;
            let row = RunRow {
                id: run.id.db(),
                project_id: run.project_id.db(),
                name: run.name.into_string(),
                metadata: json(&run.metadata),
                created_by: run.created_by.db(),
                created_at: run.created_at,
            };
            Ok(diesel::insert_into(runs::table)
                .values(&row)
                .returning(RunRow::as_returning())
                .get_result(c)?
                .into())
        })
        .await
    }

    async fn get_run(&self, id: RunId) -> StoreResult<Run> {
        self.run(move |c| Ok(load_run(c, id)?.into())).await
    }

    async fn list_runs(
        &self,
        project: ProjectId,
        page: PageRequest<RunId>,
    ) -> StoreResult<Page<Run, RunId>> {
        self.run(move |c| {
            load_project(c, project)?;
            let mut q = runs::table
                .filter(runs::project_id.eq(project.db()))
                .select(RunRow::as_select())
                .order(runs::id.asc())
                .into_boxed::<Db>();
            if let Some(after) = page.after {
                q = q.filter(runs::id.gt(after.db()));
            }
            let rows: Vec<RunRow> = q.limit(i64::from(page.limit) + 1).load(c)?;
            let rows: Vec<Run> = rows.into_iter().map(Run::from).collect();
            Ok(Page::from_overfetch(rows, page.limit, |r| r.id))
        })
        .await
    }

    async fn add_run_input(
        &self,
        run: RunId,
        version: VersionId,
        at: Timestamp,
    ) -> StoreResult<()> {
        self.tx(move |c| {
            load_run(c, run)?;
            load_version(c, version)?;
            diesel::insert_into(run_inputs::table)
                .values((
                    run_inputs::run_id.eq(run.db()),
                    run_inputs::version_id.eq(version.db()),
                    run_inputs::created_at.eq(at),
                ))
                .on_conflict_do_nothing()
                .execute(c)?;
            Ok(())
        })
        .await
    }

    async fn run_inputs(&self, run: RunId) -> StoreResult<Vec<VersionId>> {
        self.run(move |c| {
            load_run(c, run)?;
            let ids: Vec<DbUuid> = run_inputs::table
                .filter(run_inputs::run_id.eq(run.db()))
                .order(run_inputs::version_id.asc())
                .select(run_inputs::version_id)
                .load(c)?;
            Ok(ids.into_iter().map(|u| VersionId::from_uuid(u.0)).collect())
        })
        .await
    }

    async fn run_outputs(&self, run: RunId) -> StoreResult<Vec<VersionId>> {
        self.run(move |c| {
            load_run(c, run)?;
            let ids: Vec<DbUuid> = artifact_versions::table
                .filter(artifact_versions::run_id.eq(run.db()))
                .order(artifact_versions::id.asc())
                .select(artifact_versions::id)
                .load(c)?;
            Ok(ids.into_iter().map(|u| VersionId::from_uuid(u.0)).collect())
        })
        .await
    }

    async fn version_consumers(&self, version: VersionId) -> StoreResult<Vec<RunId>> {
        self.run(move |c| {
            load_version(c, version)?;
            let ids: Vec<DbUuid> = run_inputs::table
                .filter(run_inputs::version_id.eq(version.db()))
                .order(run_inputs::run_id.asc())
                .select(run_inputs::run_id)
                .load(c)?;
            Ok(ids.into_iter().map(|u| RunId::from_uuid(u.0)).collect())
        })
        .await
    }
}
