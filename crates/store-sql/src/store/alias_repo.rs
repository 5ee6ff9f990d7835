//! `AliasRepo`: aliases and their move history.

use super::*;

#[async_trait]
impl AliasRepo for Store {
    async fn set_alias(
        &self,
        artifact: ArtifactId,
        alias: &AliasName,
        version: VersionId,
        actor: Option<UserId>,
        at: Timestamp,
    ) -> StoreResult<(Alias, Option<AliasEvent>)> {
        let alias = alias.clone();
        self.tx(move |c| {
            locked_artifact(c, artifact)?;
            let v = load_version(c, version)?;
            if v.artifact_id != artifact.db() {
                return Err(nf(
                    Entity::Version,
                    format!("{version} in artifact {artifact}"),
                ));
            }
            if !v.is_finalized {
                return Err(conflict(format!(
                    "version v{} is a draft; aliases only point at finalized versions",
                    v.version
                )));
            }
            point_alias(c, &v, alias.as_str(), actor, at)
        })
        .await
    }

    async fn remove_alias(
        &self,
        artifact: ArtifactId,
        alias: &AliasName,
        actor: Option<UserId>,
        at: Timestamp,
    ) -> StoreResult<AliasEvent> {
        let alias = alias.clone();
        self.tx(move |c| {
            let from: Option<DbUuid> =
                diesel::delete(aliases::table.find((artifact.db(), alias.as_str())))
                    .returning(aliases::version_id)
                    .get_result(c)
                    .optional()?;
            let from = from.ok_or_else(|| nf(Entity::Alias, &alias))?;
            insert_alias_event(
                c,
                artifact.db(),
                alias.as_str(),
                Some(from),
                None,
                actor,
                at,
            )
        })
        .await
    }

    async fn get_alias(&self, artifact: ArtifactId, alias: &AliasName) -> StoreResult<Alias> {
        let alias = alias.clone();
        self.run(move |c| {
            let row: Option<AliasRow> = aliases::table
                .find((artifact.db(), alias.as_str()))
                .select(AliasRow::as_select())
                .first(c)
                .optional()?;
            row.map(Alias::from)
                .ok_or_else(|| nf(Entity::Alias, &alias))
        })
        .await
    }

    async fn list_aliases(&self, artifact: ArtifactId) -> StoreResult<Vec<Alias>> {
        self.run(move |c| {
            load_artifact(c, artifact)?;
            let rows: Vec<AliasRow> = aliases::table
                .filter(aliases::artifact_id.eq(artifact.db()))
                .order(aliases::name.asc())
                .select(AliasRow::as_select())
                .load(c)?;
            Ok(rows.into_iter().map(Alias::from).collect())
        })
        .await
    }

    async fn version_aliases(&self, version: VersionId) -> StoreResult<Vec<Alias>> {
        self.run(move |c| {
            load_version(c, version)?;
            let rows: Vec<AliasRow> = aliases::table
                .filter(aliases::version_id.eq(version.db()))
                .order(aliases::name.asc())
                .select(AliasRow::as_select())
                .load(c)?;
            Ok(rows.into_iter().map(Alias::from).collect())
        })
        .await
    }

    async fn alias_history(
        &self,
        artifact: ArtifactId,
        alias: Option<&AliasName>,
    ) -> StoreResult<Vec<AliasEvent>> {
        let alias = alias.cloned();
        self.run(move |c| {
            load_artifact(c, artifact)?;
            let mut q = alias_events::table
                .filter(alias_events::artifact_id.eq(artifact.db()))
                .order(alias_events::id.asc())
                .select(AliasEventRow::as_select())
                .into_boxed::<Db>();
            if let Some(a) = &alias {
                q = q.filter(alias_events::alias.eq(a.as_str().to_owned()));
            }
            let rows: Vec<AliasEventRow> = q.load(c)?;
            Ok(rows.into_iter().map(AliasEvent::from).collect())
        })
        .await
    }
}
