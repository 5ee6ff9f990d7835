//! `VersionRepo`: versions (numbering, finalize, deletion) and their files.

use super::*;

fn file_rows(
    c: &mut Conn,
    version: DbUuid,
    prefix: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> DbResult<Vec<FileRow>> {
    let mut q = artifact_files::table
        .filter(artifact_files::version_id.eq(version))
        .select(FileRow::as_select())
        .order(artifact_files::path.asc())
        .into_boxed::<Db>();
    if let Some(prefix) = prefix.filter(|p| !p.is_empty()) {
        // A range the path index can use, and an exact check of the leading characters.
        let n = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
        q = q
            .filter(artifact_files::path.ge(prefix.to_owned()))
            .filter(substr(artifact_files::path, 1, n).eq(prefix.to_owned()));
    }
    if let Some(after) = after {
        q = q.filter(artifact_files::path.gt(after.to_owned()));
    }
    Ok(q.limit(limit).load(c)?)
}

#[async_trait]
impl VersionRepo for Store {
    async fn create_next_version(&self, v: NewVersion) -> StoreResult<ArtifactVersion> {
        self.tx(move |c| {
            let artifact = load_artifact(c, v.artifact_id)?;
            if let Some(run) = v.run_id {
                if load_run(c, run)?.project_id != artifact.project_id {
                    // Another project's run is as unknown here as a missing one.
                    return Err(nf(Entity::Run, run));
                }
            }
            // The row update takes the artifact's lock: concurrent creators queue here and each
            // reads the counter the previous one committed.
            let next: i32 = diesel::update(artifacts::table.find(v.artifact_id.db()))
                .set((
                    artifacts::next_version_index.eq(artifacts::next_version_index + 1),
                    artifacts::version_count.eq(artifacts::version_count + 1),
                ))
                .returning(artifacts::next_version_index)
                .get_result(c)?;
            let row = VersionRow {
                id: v.id.db(),
                artifact_id: artifact.id,
                project_id: artifact.project_id,
                version: next - 1,
                description: v.description.into_string(),
                metadata: json(&v.metadata),
                file_count: 0,
                total_size: 0,
                digest: None,
                is_finalized: false,
                finalized_at: None,
                run_id: v.run_id.map(AsDb::db),
                created_by: v.created_by.db(),
                created_at: v.created_at,
                updated_at: v.created_at,
            };
            Ok(diesel::insert_into(artifact_versions::table)
                .values(&row)
                .returning(VersionRow::as_returning())
                .get_result(c)?
                .into())
        })
        .await
    }

    async fn get_version(&self, id: VersionId) -> StoreResult<ArtifactVersion> {
        self.run(move |c| Ok(load_version(c, id)?.into())).await
    }

    async fn stale_drafts(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ArtifactVersion>> {
        self.run(move |c| {
            let rows: Vec<VersionRow> = artifact_versions::table
                // `NOT is_finalized`, literally: the predicate of the partial index.
                .filter(diesel::dsl::not(artifact_versions::is_finalized))
                .filter(artifact_versions::created_at.lt(before))
                .order((
                    artifact_versions::created_at.asc(),
                    artifact_versions::id.asc(),
                ))
                .limit(i64::from(limit))
                .select(VersionRow::as_select())
                .load(c)?;
            Ok(rows.into_iter().map(ArtifactVersion::from).collect())
        })
        .await
    }

    async fn get_version_by_index(
        &self,
        artifact: ArtifactId,
        index: VersionIndex,
    ) -> StoreResult<ArtifactVersion> {
        self.run(move |c| {
            let i = to_i32(index.0, "version")?;
            let row: Option<VersionRow> = artifact_versions::table
                .filter(artifact_versions::artifact_id.eq(artifact.db()))
                .filter(artifact_versions::version.eq(i))
                .select(VersionRow::as_select())
                .first(c)
                .optional()?;
            row.map(ArtifactVersion::from)
                .ok_or_else(|| nf(Entity::Version, format!("{index} of artifact {artifact}")))
        })
        .await
    }

    async fn list_versions(
        &self,
        artifact: ArtifactId,
        filter: &VersionFilter,
        sort: &Sort<VersionSortField>,
        page: PageRequest<SortKey>,
    ) -> StoreResult<Page<ArtifactVersion, SortKey>> {
        let filter = filter.clone();
        let sort = sort.clone();
        self.run(move |c| {
            load_artifact(c, artifact)?;
            let order = Order::versions(&sort.field, sort.descending);
            let mut q = artifact_versions::table
                .filter(artifact_versions::artifact_id.eq(artifact.db()))
                .select((VersionRow::as_select(), order.number_column()))
                .order(order.order_by())
                .into_boxed::<Db>();
            if let Some(alias) = &filter.alias {
                q = q.filter(diesel::dsl::exists(
                    aliases::table
                        .filter(aliases::version_id.eq(artifact_versions::id))
                        .filter(aliases::name.eq(alias.as_str().to_owned())),
                ));
            }
            if let Some(f) = filter.finalized {
                q = q.filter(artifact_versions::is_finalized.eq(f));
            }
            if let Some(run) = filter.run_id {
                q = q.filter(artifact_versions::run_id.eq(run.db()));
            }
            for cond in &filter.metadata.0 {
                q = q.filter(meta_condition("artifact_versions.metadata", cond));
            }
            if let Some(after) = &page.after {
                q = q.filter(order.after(after));
            }
            let rows: Vec<(VersionRow, Option<f64>)> =
                q.limit(i64::from(page.limit) + 1).load(c)?;
            let rows = rows
                .into_iter()
                .map(|(r, n)| (ArtifactVersion::from(r), n))
                .collect();
            let page = Page::from_overfetch(rows, page.limit, |(v, n)| Order::key(sort.key(v), *n));
            Ok(Page {
                items: page.items.into_iter().map(|(v, _)| v).collect(),
                next: page.next,
            })
        })
        .await
    }

    async fn update_version(
        &self,
        id: VersionId,
        patch: Patch,
        at: Timestamp,
    ) -> StoreResult<ArtifactVersion> {
        self.tx(move |c| {
            let changes = VersionChanges {
                description: patch.description.map(Description::into_string),
                metadata: patch.metadata.as_ref().map(json),
                updated_at: at,
            };
            let row: Option<VersionRow> = diesel::update(artifact_versions::table.find(id.db()))
                .set(&changes)
                .returning(VersionRow::as_returning())
                .get_result(c)
                .optional()?;
            row.map(ArtifactVersion::from)
                .ok_or_else(|| nf(Entity::Version, id))
        })
        .await
    }

    async fn set_version_run(&self, id: VersionId, run: RunId) -> StoreResult<ArtifactVersion> {
        self.tx(move |c| {
            let run_row = load_run(c, run)?;
            let v = locked_version(c, id)?;
            if v.run_id == Some(run.db()) {
                return Ok(v.into());
            }
            if v.is_finalized {
                return Err(conflict(format!("version v{} is finalized", v.version)));
            }
            if let Some(other) = v.run_id {
                return Err(conflict(format!(
                    "version v{} was already produced by run {}",
                    v.version, other.0
                )));
            }
            if run_row.project_id != v.project_id {
                return Err(nf(Entity::Run, run));
            }
            Ok(diesel::update(artifact_versions::table.find(id.db()))
                .set(artifact_versions::run_id.eq(Some(run.db())))
                .returning(VersionRow::as_returning())
                .get_result::<VersionRow>(c)?
                .into())
        })
        .await
    }

    async fn finalize_version(
        &self,
        id: VersionId,
        actor: UserId,
        at: Timestamp,
    ) -> Result<Finalized, FinalizeError> {
        let done = self
            .tx(move |c| {
                let artifact_id = ArtifactId::from_uuid(load_version(c, id)?.artifact_id.0);
                let artifact = locked_artifact(c, artifact_id)?;
                let v = locked_version(c, id)?;
                if v.is_finalized {
                    // Nothing written yet: the empty transaction commits.
                    return Ok(Err(FinalizeError::AlreadyFinalized(VersionIndex(to_u32(
                        v.version,
                    )))));
                }
                // The version row is locked, so no file can be added or removed while we hash.
                let mut hasher = ManifestHasher::default();
                let mut after: Option<String> = None;
                loop {
                    let page: Vec<(String, String, i64)> = {
                        let mut q = artifact_files::table
                            .filter(artifact_files::version_id.eq(v.id))
                            .select((
                                artifact_files::path,
                                artifact_files::sha256_hash,
                                artifact_files::size,
                            ))
                            .order(artifact_files::path.asc())
                            .into_boxed::<Db>();
                        if let Some(a) = &after {
                            q = q.filter(artifact_files::path.gt(a.clone()));
                        }
                        q.limit(SCAN_CHUNK).load(c)?
                    };
                    for (path, sha, size) in &page {
                        hasher.update(path, sha, to_u64(*size));
                    }
                    if (page.len() as i64) < SCAN_CHUNK {
                        break;
                    }
                    after = page.last().map(|(p, _, _)| p.clone());
                }
                let digest = hasher.finish();
                let v: VersionRow = diesel::update(artifact_versions::table.find(v.id))
                    .set((
                        artifact_versions::is_finalized.eq(true),
                        artifact_versions::finalized_at.eq(Some(at)),
                        artifact_versions::digest.eq(Some(digest.as_str())),
                        artifact_versions::updated_at.eq(at),
                    ))
                    .returning(VersionRow::as_returning())
                    .get_result(c)?;
                let mut latest_moved = None;
                if artifact.latest_version.is_none_or(|l| v.version > l) {
                    let (_, event) =
                        point_alias(c, &v, wanllmdb_domain::types::LATEST, Some(actor), at)?;
                    latest_moved = event;
                    diesel::update(artifacts::table.find(artifact.id))
                        .set(artifacts::latest_version.eq(Some(v.version)))
                        .execute(c)?;
                }
                Ok(Ok(Finalized {
                    version: v.into(),
                    latest_moved,
                }))
            })
            .await;
        match done.map_err(FinalizeError::from) {
            Ok(r) => r,
            Err(FinalizeError::Store(StoreError::NotFound { .. })) => {
                Err(FinalizeError::NotFound(id))
            }
            Err(e) => Err(e),
        }
    }

    async fn delete_stale_draft(
        &self,
        id: VersionId,
        before: Timestamp,
    ) -> Result<ArtifactVersion, DeleteDraftError> {
        let done = self
            .tx(move |c| {
                let artifact_id = ArtifactId::from_uuid(load_version(c, id)?.artifact_id.0);
                let artifact = locked_artifact(c, artifact_id)?;
                let v = locked_version(c, id)?;
                if v.is_finalized || v.created_at >= before {
                    return Ok(Err(DeleteDraftError::NotStale(VersionIndex(to_u32(
                        v.version,
                    )))));
                }
                // A draft has no aliases and is never `latest`. Files, edges and downloads cascade.
                diesel::delete(artifact_versions::table.find(v.id)).execute(c)?;
                diesel::update(artifacts::table.find(artifact.id))
                    .set(artifacts::version_count.eq(artifacts::version_count - 1))
                    .execute(c)?;
                Ok(Ok(v.into()))
            })
            .await;
        match done.map_err(DeleteDraftError::from) {
            Ok(r) => r,
            Err(DeleteDraftError::Store(StoreError::NotFound { .. })) => {
                Err(DeleteDraftError::NotFound(id))
            }
            Err(e) => Err(e),
        }
    }

    async fn delete_version(&self, id: VersionId, at: Timestamp) -> StoreResult<ArtifactVersion> {
        self.tx(move |c| {
            let artifact_id = ArtifactId::from_uuid(load_version(c, id)?.artifact_id.0);
            let artifact = locked_artifact(c, artifact_id)?;
            let v = locked_version(c, id)?;
            let mut latest_version = artifact.latest_version;
            if artifact.latest_version == Some(v.version) {
                let newest: Option<VersionRow> = artifact_versions::table
                    .filter(artifact_versions::artifact_id.eq(artifact.id))
                    .filter(artifact_versions::is_finalized.eq(true))
                    .filter(artifact_versions::id.ne(v.id))
                    .order(artifact_versions::version.desc())
                    .select(VersionRow::as_select())
                    .first(c)
                    .optional()?;
                match &newest {
                    Some(n) => {
                        point_alias(c, n, LATEST, None, at)?;
                    }
                    None => {
                        diesel::delete(aliases::table.find((artifact.id, LATEST))).execute(c)?;
                        insert_alias_event(c, artifact.id, LATEST, Some(v.id), None, None, at)?;
                    }
                }
                latest_version = newest.map(|n| n.version);
            }
            let others: Vec<String> = aliases::table
                .filter(aliases::version_id.eq(v.id))
                .filter(aliases::name.ne(LATEST))
                .order(aliases::name.asc())
                .select(aliases::name)
                .load(c)?;
            for name in others {
                insert_alias_event(c, artifact.id, &name, Some(v.id), None, None, at)?;
            }
            // Files, aliases, lineage edges and downloads cascade.
            diesel::delete(artifact_versions::table.find(v.id)).execute(c)?;
            diesel::update(artifacts::table.find(artifact.id))
                .set((
                    artifacts::version_count.eq(artifacts::version_count - 1),
                    artifacts::latest_version.eq(latest_version),
                ))
                .execute(c)?;
            Ok(v.into())
        })
        .await
    }

    async fn add_files(
        &self,
        version: VersionId,
        files: Vec<NewFile>,
    ) -> Result<Vec<ArtifactFile>, AddFilesError> {
        let done = self
            .tx(move |c| {
                let mut seen = BTreeSet::new();
                for f in &files {
                    if !seen.insert(f.path.as_str()) {
                        return Err(DbError::Store(StoreError::already_exists(
                            Entity::File,
                            &f.path,
                        )));
                    }
                }
                let count = to_i64(files.len() as u64, "file_count")?;
                let size = to_i64(files.iter().map(|f| f.size).sum(), "total_size")?;
                // Updating the counters locks the version and proves it is still a draft.
                let project: Option<DbUuid> = diesel::update(
                    artifact_versions::table
                        .find(version.db())
                        .filter(artifact_versions::is_finalized.eq(false)),
                )
                .set((
                    artifact_versions::file_count.eq(artifact_versions::file_count + count),
                    artifact_versions::total_size.eq(artifact_versions::total_size + size),
                ))
                .returning(artifact_versions::project_id)
                .get_result(c)
                .optional()?;
                let Some(project) = project else {
                    // No row updated: nothing written, the empty transaction commits.
                    let v = load_version(c, version)?;
                    return Ok(Err(AddFilesError::Finalized(VersionIndex(to_u32(
                        v.version,
                    )))));
                };
                for chunk in files.chunks(INSERT_CHUNK) {
                    let paths: Vec<&str> = chunk.iter().map(|f| f.path.as_str()).collect();
                    let taken: Option<String> = artifact_files::table
                        .filter(artifact_files::version_id.eq(version.db()))
                        .filter(artifact_files::path.eq_any(paths))
                        .select(artifact_files::path)
                        .first(c)
                        .optional()?;
                    if let Some(path) = taken {
                        return Err(DbError::Store(StoreError::already_exists(
                            Entity::File,
                            path,
                        )));
                    }
                    let blobs_rows: Vec<BlobRow> = chunk
                        .iter()
                        .map(|f| {
                            Ok(BlobRow {
                                project_id: project,
                                sha256: f.sha256.as_str().to_owned(),
                                md5: f.md5.as_str().to_owned(),
                                size: to_i64(f.size, "size")?,
                                storage_key: f.storage_key.as_str().to_owned(),
                                created_at: f.created_at,
                            })
                        })
                        .collect::<DbResult<_>>()?;
                    insert_blobs(c, &blobs_rows)?;
                    let rows: Vec<FileRow> = chunk
                        .iter()
                        .map(|f| {
                            Ok(FileRow {
                                id: f.id.db(),
                                version_id: version.db(),
                                project_id: project,
                                path: f.path.as_str().to_owned(),
                                size: to_i64(f.size, "size")?,
                                md5_hash: f.md5.as_str().to_owned(),
                                sha256_hash: f.sha256.as_str().to_owned(),
                                content_type: f.content_type.as_str().to_owned(),
                                storage_key: f.storage_key.as_str().to_owned(),
                                created_at: f.created_at,
                                dir: parent_folder(f.path.as_str()).to_owned(),
                            })
                        })
                        .collect::<DbResult<_>>()?;
                    diesel::insert_into(artifact_files::table)
                        .values(&rows)
                        .execute(c)?;
                }
                let folders =
                    folder_changes(version, files.iter().map(|f| (f.path.as_str(), f.size)))?;
                for chunk in folders.chunks(INSERT_CHUNK) {
                    upsert_folders(c, chunk)?;
                }
                Ok(Ok(files
                    .into_iter()
                    .map(|f| ArtifactFile {
                        id: f.id,
                        version_id: version,
                        path: f.path,
                        size: f.size,
                        md5: f.md5,
                        sha256: f.sha256,
                        content_type: f.content_type,
                        storage_key: f.storage_key,
                        created_at: f.created_at,
                    })
                    .collect()))
            })
            .await;
        match done.map_err(AddFilesError::from) {
            Ok(r) => r,
            Err(AddFilesError::Store(StoreError::NotFound {
                entity: Entity::Version,
                ..
            })) => Err(AddFilesError::VersionNotFound(version)),
            Err(AddFilesError::Store(StoreError::AlreadyExists {
                entity: Entity::File,
                key,
            })) => Err(AddFilesError::PathTaken(key)),
            Err(e) => Err(e),
        }
    }

    async fn get_file(&self, id: FileId) -> StoreResult<ArtifactFile> {
        self.run(move |c| {
            let row: Option<FileRow> = artifact_files::table
                .find(id.db())
                .select(FileRow::as_select())
                .first(c)
                .optional()?;
            row.ok_or_else(|| nf(Entity::File, id))?.try_into()
        })
        .await
    }

    async fn get_file_by_path(
        &self,
        version: VersionId,
        path: &FilePath,
    ) -> StoreResult<ArtifactFile> {
        let path = path.clone();
        self.run(move |c| {
            let row: Option<FileRow> = artifact_files::table
                .filter(artifact_files::version_id.eq(version.db()))
                .filter(artifact_files::path.eq(path.as_str()))
                .select(FileRow::as_select())
                .first(c)
                .optional()?;
            row.ok_or_else(|| nf(Entity::File, &path))?.try_into()
        })
        .await
    }

    async fn list_files(
        &self,
        version: VersionId,
        prefix: Option<&str>,
        page: PageRequest<FilePath>,
    ) -> StoreResult<Page<ArtifactFile, FilePath>> {
        let prefix = prefix.map(str::to_owned);
        self.run(move |c| {
            load_version(c, version)?;
            let rows = file_rows(
                c,
                version.db(),
                prefix.as_deref(),
                page.after.as_ref().map(FilePath::as_str),
                i64::from(page.limit) + 1,
            )?;
            let rows = rows
                .into_iter()
                .map(ArtifactFile::try_from)
                .collect::<DbResult<Vec<_>>>()?;
            Ok(Page::from_overfetch(rows, page.limit, |f| f.path.clone()))
        })
        .await
    }

    async fn delete_file(&self, id: FileId) -> StoreResult<ArtifactFile> {
        self.tx(move |c| {
            let row: FileRow = artifact_files::table
                .find(id.db())
                .select(FileRow::as_select())
                .first(c)
                .optional()?
                .ok_or_else(|| nf(Entity::File, id))?;
            let updated = diesel::update(
                artifact_versions::table
                    .find(row.version_id)
                    .filter(artifact_versions::is_finalized.eq(false)),
            )
            .set((
                artifact_versions::file_count.eq(artifact_versions::file_count - 1),
                artifact_versions::total_size.eq(artifact_versions::total_size - row.size),
            ))
            .execute(c)?;
            if updated == 0 {
                return Err(conflict(
                    "the file's version is finalized; its files cannot change",
                ));
            }
            diesel::delete(artifact_files::table.find(id.db())).execute(c)?;
            let above: Vec<&str> = folders_of(&row.path);
            if !above.is_empty() {
                let these = artifact_folders::table
                    .filter(artifact_folders::version_id.eq(row.version_id))
                    .filter(artifact_folders::path.eq_any(above));
                diesel::update(these.clone())
                    .set((
                        artifact_folders::file_count.eq(artifact_folders::file_count - 1),
                        artifact_folders::total_size.eq(artifact_folders::total_size - row.size),
                    ))
                    .execute(c)?;
                diesel::delete(these.filter(artifact_folders::file_count.le(0))).execute(c)?;
            }
            row.try_into()
        })
        .await
    }

    async fn list_folder(
        &self,
        version: VersionId,
        folder: &str,
        page: PageRequest<String>,
    ) -> StoreResult<Page<FolderEntry, String>> {
        let folder = folder.to_owned();
        self.run(move |c| {
            load_version(c, version)?;
            let after = page.after.clone().unwrap_or_default();
            let n = i64::from(page.limit) + 1;
            // Two index range reads, (version, parent, path) and (version, dir, path), merged.
            let folders: Vec<FolderRow> = artifact_folders::table
                .filter(artifact_folders::version_id.eq(version.db()))
                .filter(artifact_folders::parent.eq(&folder))
                .filter(artifact_folders::path.gt(&after))
                .order(artifact_folders::path.asc())
                .limit(n)
                .select(FolderRow::as_select())
                .load(c)?;
            let files: Vec<FileRow> = artifact_files::table
                .filter(artifact_files::version_id.eq(version.db()))
                .filter(artifact_files::dir.eq(&folder))
                .filter(artifact_files::path.gt(&after))
                .order(artifact_files::path.asc())
                .limit(n)
                .select(FileRow::as_select())
                .load(c)?;
            let mut folders = folders.into_iter().peekable();
            let mut files = files.into_iter().peekable();
            let mut rows = Vec::with_capacity(page.limit as usize + 1);
            while rows.len() < page.limit as usize + 1 {
                let take_folder = match (folders.peek(), files.peek()) {
                    (Some(d), Some(f)) => d.path.as_str() < f.path.as_str(),
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => break,
                };
                rows.push(if take_folder {
                    folders.next().map(|d| {
                        FolderEntry::Folder(Folder {
                            path: d.path,
                            file_count: to_u64(d.file_count),
                            total_size: to_u64(d.total_size),
                        })
                    })
                } else {
                    files
                        .next()
                        .map(|f| f.try_into().map(FolderEntry::File))
                        .transpose()?
                });
            }
            let rows: Vec<FolderEntry> = rows.into_iter().flatten().collect();
            Ok(Page::from_overfetch(rows, page.limit, |e| {
                e.path().to_owned()
            }))
        })
        .await
    }
}

/// What adding files changes in the folder counters: one row per folder above any of them.
fn folder_changes<'a>(
    version: VersionId,
    files: impl Iterator<Item = (&'a str, u64)>,
) -> DbResult<Vec<FolderRow>> {
    let mut deltas: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for (path, size) in files {
        for folder in folders_of(path) {
            let d = deltas.entry(folder).or_default();
            d.0 += 1;
            d.1 += size;
        }
    }
    deltas
        .into_iter()
        .map(|(path, (count, size))| {
            Ok(FolderRow {
                version_id: version.db(),
                path: path.to_owned(),
                parent: parent_folder(path).to_owned(),
                file_count: to_i64(count, "file_count")?,
                total_size: to_i64(size, "total_size")?,
            })
        })
        .collect()
}
