//! `BlobRepo`: blob records, bulk lookups and garbage.

use super::*;

#[async_trait]
impl BlobRepo for Store {
    async fn get_blob(&self, project: ProjectId, sha256: &Sha256) -> StoreResult<Blob> {
        let sha = sha256.clone();
        self.run(move |c| {
            let row: Option<BlobRow> = blobs::table
                .find((project.db(), sha.as_str()))
                .select(BlobRow::as_select())
                .first(c)
                .optional()?;
            row.ok_or_else(|| nf(Entity::Blob, &sha))?.try_into()
        })
        .await
    }

    async fn get_blobs(&self, project: ProjectId, sha256s: &[Sha256]) -> StoreResult<Vec<Blob>> {
        let mut wanted: Vec<String> = sha256s.iter().map(|s| s.as_str().to_owned()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        self.run(move |c| {
            let mut out = Vec::with_capacity(wanted.len());
            // Bounded IN lists: SQLite caps bound parameters per statement.
            for chunk in wanted.chunks(BLOB_LOOKUP_CHUNK) {
                let rows: Vec<BlobRow> = blobs::table
                    .filter(blobs::project_id.eq(project.db()))
                    .filter(blobs::sha256.eq_any(chunk))
                    .select(BlobRow::as_select())
                    .load(c)?;
                for row in rows {
                    out.push(Blob::try_from(row)?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn unreferenced_blobs(&self, before: Timestamp, limit: u32) -> StoreResult<Vec<Blob>> {
        self.run(move |c| {
            let referenced = artifact_files::table
                .filter(artifact_files::project_id.eq(blobs::project_id))
                .filter(artifact_files::sha256_hash.eq(blobs::sha256));
            let rows: Vec<BlobRow> = blobs::table
                .filter(blobs::created_at.lt(before))
                .filter(diesel::dsl::not(diesel::dsl::exists(referenced)))
                .order((blobs::project_id.asc(), blobs::sha256.asc()))
                .limit(i64::from(limit))
                .select(BlobRow::as_select())
                .load(c)?;
            rows.into_iter().map(Blob::try_from).collect()
        })
        .await
    }

    async fn delete_blob_record(
        &self,
        project: ProjectId,
        sha256: &Sha256,
    ) -> Result<Blob, DeleteBlobError> {
        let sha = sha256.clone();
        let done = self
            .tx(move |c| {
                let Some(row) = blobs::table
                    .find((project.db(), sha.as_str()))
                    .select(BlobRow::as_select())
                    .first::<BlobRow>(c)
                    .optional()?
                else {
                    return Ok(Err(DeleteBlobError::NotFound(sha)));
                };
                let referenced: bool = diesel::select(diesel::dsl::exists(
                    artifact_files::table
                        .filter(artifact_files::project_id.eq(project.db()))
                        .filter(artifact_files::sha256_hash.eq(sha.as_str())),
                ))
                .get_result(c)?;
                if referenced {
                    return Ok(Err(DeleteBlobError::Referenced(sha)));
                }
                // A file inserted concurrently makes this fail on the foreign key: Retryable.
                diesel::delete(blobs::table.find((project.db(), sha.as_str()))).execute(c)?;
                Ok(row
                    .try_into()
                    .map_err(StoreError::from)
                    .map_err(DeleteBlobError::from))
            })
            .await;
        done.map_err(DeleteBlobError::from)?
    }
}
