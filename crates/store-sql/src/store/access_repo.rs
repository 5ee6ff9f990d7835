//! `AccessRepo`: users, API keys, projects and memberships.

use super::*;

#[async_trait]
impl AccessRepo for Store {
    async fn create_user(&self, user: User) -> StoreResult<User> {
        self.tx(move |c| {
            let row = UserRow {
                id: user.id.db(),
                name: user.name.into_string(),
                is_admin: user.is_admin,
                created_at: user.created_at,
            };
            Ok(diesel::insert_into(users::table)
                .values(&row)
                .returning(UserRow::as_returning())
                .get_result(c)?
                .into())
        })
        .await
    }

    async fn get_user(&self, id: UserId) -> StoreResult<User> {
        self.run(move |c| {
            let row: Option<UserRow> = users::table
                .find(id.db())
                .select(UserRow::as_select())
                .first(c)
                .optional()?;
            row.map(User::from).ok_or_else(|| nf(Entity::User, id))
        })
        .await
    }

    async fn get_user_by_name(&self, name: &UserName) -> StoreResult<User> {
        let name = name.clone();
        self.run(move |c| {
            let row: Option<UserRow> = users::table
                .filter(users::name.eq(name.as_str()))
                .select(UserRow::as_select())
                .first(c)
                .optional()?;
            row.map(User::from).ok_or_else(|| nf(Entity::User, &name))
        })
        .await
    }

    async fn count_users(&self) -> StoreResult<u64> {
        self.run(|c| Ok(to_u64(users::table.count().get_result::<i64>(c)?)))
            .await
    }

    async fn create_api_key(&self, key: ApiKey) -> StoreResult<ApiKey> {
        self.tx(move |c| {
            require_user(c, key.user_id)?;
            let row = ApiKeyRow {
                id: key.id.db(),
                user_id: key.user_id.db(),
                label: key.label,
                secret_hash: key.secret_hash.into_string(),
                prefix: key.prefix,
                created_at: key.created_at,
                revoked_at: key.revoked_at,
            };
            Ok(diesel::insert_into(api_keys::table)
                .values(&row)
                .returning(ApiKeyRow::as_returning())
                .get_result(c)?
                .into())
        })
        .await
    }

    async fn find_api_key(&self, secret_hash: &Sha256) -> StoreResult<ApiKey> {
        let hash = secret_hash.clone();
        self.run(move |c| {
            let row: Option<ApiKeyRow> = api_keys::table
                .filter(api_keys::secret_hash.eq(hash.as_str()))
                .select(ApiKeyRow::as_select())
                .first(c)
                .optional()?;
            row.map(ApiKey::from)
                .ok_or_else(|| nf(Entity::ApiKey, "with that secret"))
        })
        .await
    }

    async fn list_api_keys(&self, user: UserId) -> StoreResult<Vec<ApiKey>> {
        self.run(move |c| {
            let rows: Vec<ApiKeyRow> = api_keys::table
                .filter(api_keys::user_id.eq(user.db()))
                .order(api_keys::id.asc())
                .select(ApiKeyRow::as_select())
                .load(c)?;
            Ok(rows.into_iter().map(ApiKey::from).collect())
        })
        .await
    }

    async fn revoke_api_key(&self, id: ApiKeyId, at: Timestamp) -> StoreResult<ApiKey> {
        self.tx(move |c| {
            diesel::update(
                api_keys::table
                    .find(id.db())
                    .filter(api_keys::revoked_at.is_null()),
            )
            .set(api_keys::revoked_at.eq(at))
            .execute(c)?;
            let row: Option<ApiKeyRow> = api_keys::table
                .find(id.db())
                .select(ApiKeyRow::as_select())
                .first(c)
                .optional()?;
            row.map(ApiKey::from).ok_or_else(|| nf(Entity::ApiKey, id))
        })
        .await
    }

    async fn create_session(&self, session: BrowserSession) -> StoreResult<BrowserSession> {
        self.tx(move |c| {
            require_user(c, session.user_id)?;
            let row = SessionRow {
                id: session.id.db(),
                user_id: session.user_id.db(),
                secret_hash: session.secret_hash.into_string(),
                csrf_token: session.csrf_token,
                created_at: session.created_at,
                expires_at: session.expires_at,
                revoked_at: session.revoked_at,
            };
            Ok(diesel::insert_into(sessions::table)
                .values(&row)
                .returning(SessionRow::as_returning())
                .get_result(c)?
                .into())
        })
        .await
    }

    async fn find_session(&self, secret_hash: &Sha256) -> StoreResult<BrowserSession> {
        let hash = secret_hash.clone();
        self.run(move |c| {
            let row: Option<SessionRow> = sessions::table
                .filter(sessions::secret_hash.eq(hash.as_str()))
                .select(SessionRow::as_select())
                .first(c)
                .optional()?;
            row.map(BrowserSession::from)
                .ok_or_else(|| nf(Entity::Session, "with that secret"))
        })
        .await
    }

    async fn revoke_session(&self, id: SessionId, at: Timestamp) -> StoreResult<BrowserSession> {
        self.tx(move |c| {
            diesel::update(
                sessions::table
                    .find(id.db())
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(at))
            .execute(c)?;
            let row: Option<SessionRow> = sessions::table
                .find(id.db())
                .select(SessionRow::as_select())
                .first(c)
                .optional()?;
            row.map(BrowserSession::from)
                .ok_or_else(|| nf(Entity::Session, id))
        })
        .await
    }

    async fn delete_stale_sessions(&self, before: Timestamp) -> StoreResult<u64> {
        self.tx(move |c| {
            let n = diesel::delete(
                sessions::table.filter(
                    sessions::expires_at
                        .lt(before)
                        .or(sessions::revoked_at.lt(before)),
                ),
            )
            .execute(c)?;
            Ok(n as u64)
        })
        .await
    }

    async fn create_project(&self, project: Project) -> StoreResult<Project> {
        self.tx(move |c| {
            require_user(c, project.created_by)?;
            let row = ProjectRow {
                id: project.id.db(),
                name: project.name.into_string(),
                description: project.description.into_string(),
                created_by: project.created_by.db(),
                created_at: project.created_at,
            };
            let stored: ProjectRow = diesel::insert_into(projects::table)
                .values(&row)
                .returning(ProjectRow::as_returning())
                .get_result(c)?;
            let admin = MembershipRow {
                project_id: stored.id,
                user_id: stored.created_by,
                role: Role::Admin.as_str().to_owned(),
                created_at: stored.created_at,
            };
            diesel::insert_into(memberships::table)
                .values(&admin)
                .execute(c)?;
            Ok(stored.into())
        })
        .await
    }

    async fn get_project(&self, id: ProjectId) -> StoreResult<Project> {
        self.run(move |c| Ok(load_project(c, id)?.into())).await
    }

    async fn get_project_by_name(&self, name: &ProjectName) -> StoreResult<Project> {
        let name = name.clone();
        self.run(move |c| {
            let row: Option<ProjectRow> = projects::table
                .filter(projects::name.eq(name.as_str()))
                .select(ProjectRow::as_select())
                .first(c)
                .optional()?;
            row.map(Project::from)
                .ok_or_else(|| nf(Entity::Project, &name))
        })
        .await
    }

    async fn list_projects(
        &self,
        member: Option<UserId>,
        page: PageRequest<ProjectName>,
    ) -> StoreResult<Page<Project, ProjectName>> {
        self.run(move |c| {
            let mut q = projects::table
                .select(ProjectRow::as_select())
                .order(projects::name.asc())
                .into_boxed::<Db>();
            if let Some(u) = member {
                q = q.filter(
                    projects::id.eq_any(
                        memberships::table
                            .filter(memberships::user_id.eq(u.db()))
                            .select(memberships::project_id),
                    ),
                );
            }
            if let Some(after) = &page.after {
                q = q.filter(projects::name.gt(after.as_str().to_owned()));
            }
            let rows: Vec<ProjectRow> = q.limit(i64::from(page.limit) + 1).load(c)?;
            let rows: Vec<Project> = rows.into_iter().map(Project::from).collect();
            Ok(Page::from_overfetch(rows, page.limit, |p| p.name.clone()))
        })
        .await
    }

    async fn delete_project(&self, id: ProjectId) -> StoreResult<()> {
        self.tx(move |c| {
            load_project(c, id)?;
            let p = id.db();
            // Files first: they reference the project's blob records.
            diesel::delete(artifact_files::table.filter(artifact_files::project_id.eq(p)))
                .execute(c)?;
            diesel::delete(artifacts::table.filter(artifacts::project_id.eq(p))).execute(c)?;
            diesel::delete(runs::table.filter(runs::project_id.eq(p))).execute(c)?;
            diesel::delete(blobs::table.filter(blobs::project_id.eq(p))).execute(c)?;
            diesel::delete(projects::table.find(p)).execute(c)?;
            Ok(())
        })
        .await
    }

    async fn upsert_membership(&self, m: Membership) -> StoreResult<Membership> {
        self.tx(move |c| {
            load_project(c, m.project_id)?;
            require_user(c, m.user_id)?;
            let row = MembershipRow {
                project_id: m.project_id.db(),
                user_id: m.user_id.db(),
                role: m.role.as_str().to_owned(),
                created_at: m.created_at,
            };
            let stored: MembershipRow = diesel::insert_into(memberships::table)
                .values(&row)
                .on_conflict((memberships::project_id, memberships::user_id))
                .do_update()
                .set(memberships::role.eq(m.role.as_str()))
                .returning(MembershipRow::as_returning())
                .get_result(c)?;
            stored.try_into()
        })
        .await
    }

    async fn remove_membership(&self, project: ProjectId, user: UserId) -> StoreResult<()> {
        self.tx(move |c| {
            let n =
                diesel::delete(memberships::table.find((project.db(), user.db()))).execute(c)?;
            if n == 0 {
                return Err(nf(Entity::Membership, format!("{user} in {project}")));
            }
            Ok(())
        })
        .await
    }

    async fn get_role(&self, project: ProjectId, user: UserId) -> StoreResult<Option<Role>> {
        self.run(move |c| {
            let r: Option<String> = memberships::table
                .find((project.db(), user.db()))
                .select(memberships::role)
                .first(c)
                .optional()?;
            r.map(|r| role(&r)).transpose()
        })
        .await
    }

    async fn list_members(&self, project: ProjectId) -> StoreResult<Vec<Membership>> {
        self.run(move |c| {
            load_project(c, project)?;
            let rows: Vec<MembershipRow> = memberships::table
                .filter(memberships::project_id.eq(project.db()))
                .order(memberships::user_id.asc())
                .select(MembershipRow::as_select())
                .load(c)?;
            rows.into_iter().map(Membership::try_from).collect()
        })
        .await
    }
}
