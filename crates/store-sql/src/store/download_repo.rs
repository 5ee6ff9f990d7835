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
            Ok(DownloadStats {
                count: to_u64(count),
                unique_users: to_u64(unique_users),
                last_at,
            })
        })
        .await
    }
}
