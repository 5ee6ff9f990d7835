//! `DownloadRepo`: download records and statistics.

use super::*;

#[async_trait]
impl DownloadRepo for Store {
    async fn record_download(&self, d: Download) -> StoreResult<Download> {
        self.tx(move |c| {
            load_version(c, d.version_id)?;
            if let Some(f) = d.file_id {
                let owner: Option<DbUuid> = artifact_files::table
                    .find(f.db())
                    .select(artifact_files::version_id)
                    .first(c)
                    .optional()?;
                if owner != Some(d.version_id.db()) {
                    return Err(nf(Entity::File, f));
                }
            }
            let row = DownloadRow {
                id: d.id.db(),
                version_id: d.version_id.db(),
                file_id: d.file_id.map(AsDb::db),
                user_id: d.user_id.db(),
                downloaded_at: d.at,
            };
            diesel::insert_into(artifact_downloads::table)
                .values(&row)
                .execute(c)?;
            Ok(d)
        })
        .await
    }

    async fn download_stats(&self, version: VersionId) -> StoreResult<DownloadStats> {
        self.run(move |c| {
            load_version(c, version)?;
            let mine =
                artifact_downloads::table.filter(artifact_downloads::version_id.eq(version.db()));
            let count: i64 = mine.count().get_result(c)?;
            let unique_users: i64 = mine
                .select(diesel::dsl::count(artifact_downloads::user_id).aggregate_distinct())
                .get_result(c)?;
            let last_at: Option<DateTime<Utc>> = mine
                .order(artifact_downloads::downloaded_at.desc())
                .select(artifact_downloads::downloaded_at)
                .first(c)
                .optional()?;
            let newest: Vec<(DbUuid, Option<DbUuid>, DateTime<Utc>)> = mine
                .order((
                    artifact_downloads::downloaded_at.desc(),
                    artifact_downloads::id.desc(),
                ))
                .select((
                    artifact_downloads::user_id,
                    artifact_downloads::file_id,
                    artifact_downloads::downloaded_at,
                ))
                .limit(DownloadStats::RECENT as i64)
                .load(c)?;
            let ids: Vec<DbUuid> = newest.iter().map(|(u, _, _)| *u).collect();
            let names: std::collections::HashMap<DbUuid, String> = users::table
                .filter(users::id.eq_any(&ids))
                .select((users::id, users::name))
                .load::<(DbUuid, String)>(c)?
                .into_iter()
                .collect();
            let file_ids: Vec<DbUuid> = newest.iter().filter_map(|(_, f, _)| *f).collect();
            let paths: std::collections::HashMap<DbUuid, String> = artifact_files::table
                .filter(artifact_files::id.eq_any(&file_ids))
                .select((artifact_files::id, artifact_files::path))
                .load::<(DbUuid, String)>(c)?
                .into_iter()
                .collect();
            let recent = newest
                .into_iter()
                .filter_map(|(user, file, at)| {
                    Some(RecentDownload {
                        user_id: UserId::from_uuid(user.0),
                        user_name: UserName::from_trusted(names.get(&user)?.clone()),
                        file_id: file.map(|f| FileId::from_uuid(f.0)),
                        file_path: file
                            .and_then(|f| paths.get(&f))
                            .map(|p| FilePath::from_trusted(p.clone())),
                        at,
                    })
                })
                .collect();
            Ok(DownloadStats {
                count: to_u64(count),
                unique_users: to_u64(unique_users),
                last_at,
                recent,
            })
        })
        .await
    }
}
