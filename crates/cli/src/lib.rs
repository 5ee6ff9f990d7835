//! The `wanllmdb` command line over the SDK. `run` is the whole program, so tests drive it
//! in-process; the binary only calls it and exits with its code.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use wanllmdb_api::{EdgeKindName, FileDto, FolderEntryDto};
use wanllmdb_client::{
    Artifact, ArtifactSearch, Cache, Client, ClientError, Credentials, LogOptions, VersionSearch,
};
use wanllmdb_domain::types::ArtifactType;

/// Exit codes.
pub mod exit {
    pub const OK: i32 = 0;
    /// The server refused (4xx) or could not be reached.
    pub const FAILED: i32 = 1;
    /// Bad arguments.
    pub const USAGE: i32 = 2;
    /// A downloaded file did not match its recorded SHA-256.
    pub const INTEGRITY: i32 = 3;
    /// No credentials.
    pub const NO_LOGIN: i32 = 4;
}

#[derive(Debug, Parser)]
#[command(
    name = "wanllmdb",
    version,
    about = "Version and share ML artifacts with a wanllmdb registry"
)]
struct Cli {
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Server URL (else WANLLMDB_URL, else the saved login).
    #[arg(long, global = true)]
    url: Option<String>,
    /// Large files moved at once (files up to 1 MiB go 32 times as many at once).
    #[arg(long, global = true, env = "WANLLMDB_JOBS", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    jobs: u16,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Save the server URL and API key for later commands.
    Login {
        #[arg(long)]
        url: String,
        #[arg(long, env = "WANLLMDB_API_KEY")]
        key: String,
    },
    /// Projects.
    Project {
        #[command(subcommand)]
        command: ProjectCommand,
    },
    /// Artifacts.
    Artifact {
        #[command(subcommand)]
        command: ArtifactCommand,
    },
    /// Runs.
    Run {
        #[command(subcommand)]
        command: RunCommand,
    },
    /// The local download cache.
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
}

#[derive(Debug, Subcommand)]
enum CacheCommand {
    /// Where it is, how full.
    Info,
    /// Empty it.
    Clean,
}

#[derive(Debug, Subcommand)]
enum AliasCommand {
    /// Point ALIAS at the version REF names (project/name:vN).
    Set { reference: String, alias: String },
    /// Remove ALIAS from the artifact project/name.
    Rm { artifact: String, alias: String },
}

#[derive(Debug, Subcommand)]
enum ProjectCommand {
    Create { name: String },
    Ls,
}

#[derive(Debug, Subcommand)]
enum RunCommand {
    Create {
        #[arg(long)]
        project: String,
        name: String,
    },
    /// List a project's runs.
    Ls {
        #[arg(long)]
        project: String,
    },
}

#[derive(Debug, Subcommand)]
enum ArtifactCommand {
    /// Log a file or a folder as the next version of an artifact.
    Put {
        source: PathBuf,
        #[arg(long)]
        project: String,
        #[arg(long)]
        name: String,
        #[arg(long = "type", default_value = "file")]
        artifact_type: String,
        #[arg(long = "alias")]
        aliases: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// A JSON object.
        #[arg(long)]
        metadata: Option<String>,
        /// The run that produced it.
        #[arg(long)]
        run: Option<uuid::Uuid>,
        /// Read every file to hash it, even those the hash cache knows unchanged.
        #[arg(long)]
        rehash: bool,
        /// Leave the local cache alone: hash every file and remember nothing.
        #[arg(long)]
        no_cache: bool,
    },
    /// Download a version: project/name[:vN|alias].
    Get {
        reference: String,
        #[arg(short = 'o', long, default_value = ".")]
        output: PathBuf,
        /// Record this run as a user of the version.
        #[arg(long)]
        run: Option<uuid::Uuid>,
        /// Only files whose path starts with this.
        #[arg(long)]
        prefix: Option<String>,
        /// Neither take files from the local cache nor keep them there.
        #[arg(long)]
        no_cache: bool,
    },
    /// How the second version differs from the first.
    Diff { from: String, to: String },
    /// Aliases.
    Alias {
        #[command(subcommand)]
        command: AliasCommand,
    },
    /// Delete an artifact (project/name) with all its versions.
    Rm { artifact: String },
    /// List or search a project's artifacts.
    Ls {
        #[arg(long)]
        project: String,
        /// Only this type (repeat for several).
        #[arg(long = "type")]
        types: Vec<String>,
        /// A case-insensitive substring of the name or description.
        #[arg(long)]
        q: Option<String>,
        /// Only artifacts with a version carrying this alias.
        #[arg(long)]
        alias: Option<String>,
        /// Metadata conditions: 'metadata.accuracy >= 0.9 and metadata.tags contains "prod"'.
        #[arg(long)]
        filter: Option<String>,
        /// name, created_at, updated_at, version_count or metadata.KEY; -KEY descends.
        #[arg(long, allow_hyphen_values = true)]
        sort: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// List or search an artifact's versions.
    Versions {
        name: String,
        #[arg(long)]
        project: String,
        /// Only the version carrying this alias.
        #[arg(long)]
        alias: Option<String>,
        /// Only finalized versions (true) or drafts (false).
        #[arg(long)]
        finalized: Option<bool>,
        /// Only versions this run produced.
        #[arg(long)]
        run: Option<uuid::Uuid>,
        /// Metadata conditions, as for `artifact ls`.
        #[arg(long)]
        filter: Option<String>,
        /// index, created_at, total_size or metadata.KEY; -KEY descends (-metadata.accuracy: best first).
        #[arg(long, allow_hyphen_values = true)]
        sort: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Show a version and its first files.
    Info { reference: String },
    /// List all files of a version, by path.
    Files {
        reference: String,
        /// Only files whose path starts with this.
        #[arg(long)]
        prefix: Option<String>,
        /// Only what is directly in the folder --prefix (empty or ending in /): its files, and
        /// its folders with their file counts and sizes.
        #[arg(long)]
        folders: bool,
    },
    /// The run that produced a version, what it used, and who used the version.
    Lineage {
        reference: String,
        /// Steps out from the version.
        #[arg(long, default_value_t = 2)]
        depth: u32,
    },
}

pub use wanllmdb_client::credentials_path;

/// A progress bar on stderr, drawn only when stdout is a terminal (so scripts and `--json`
/// output stay clean).
struct Bar(indicatif::ProgressBar);

impl Bar {
    fn new(visible: bool) -> Self {
        let bar = indicatif::ProgressBar::with_draw_target(
            None,
            if visible {
                indicatif::ProgressDrawTarget::stderr()
            } else {
                indicatif::ProgressDrawTarget::hidden()
            },
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg:8} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        Self(bar)
    }
}

impl wanllmdb_client::Progress for Bar {
    fn start(&self, what: &str, total: u64) {
        self.0.set_message(what.to_owned());
        self.0.set_length(total);
        self.0.set_position(0);
    }

    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }

    fn grow(&self, bytes: u64) {
        self.0.inc_length(bytes);
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn client(url: Option<String>, jobs: u16, progress: bool) -> Result<Client, (i32, String)> {
    match Credentials::resolve(url) {
        Some(Credentials { url: u, key: k }) => {
            let visible = progress && std::io::IsTerminal::is_terminal(&std::io::stdout());
            Ok(Client::new(&u, &k)
                .with_concurrency(usize::from(jobs))
                .with_cache_of(Cache::from_env())
                .with_progress(std::sync::Arc::new(Bar::new(visible))))
        }
        None => Err((exit::NO_LOGIN, "not logged in: run `wanllmdb login --url URL --key KEY` or set WANLLMDB_URL and WANLLMDB_API_KEY".into())),
    }
}

fn failure(e: ClientError) -> (i32, String) {
    let code = match e {
        ClientError::Integrity { .. } => exit::INTEGRITY,
        ClientError::Invalid(_) => exit::USAGE,
        _ => exit::FAILED,
    };
    (code, e.to_string())
}

/// Runs the command line with `args` (the program name first); prints to stdout and stderr and
/// returns the exit code.
pub async fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
        }
    };
    let (code, out, err) = run_parsed(cli).await;
    if !out.is_empty() {
        println!("{out}");
    }
    if !err.is_empty() {
        eprintln!("{err}");
    }
    code
}

/// Runs the command line with `args` and returns the exit code with what it would print on
/// stdout and stderr (for programs and tests that drive it in process).
pub async fn run_captured<I, T>(args: I) -> (i32, String, String)
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    match Cli::try_parse_from(args) {
        Ok(cli) => run_parsed(cli).await,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            (code, String::new(), e.to_string())
        }
    }
}

async fn run_parsed(cli: Cli) -> (i32, String, String) {
    let json_out = cli.json;
    match execute(cli).await {
        Ok(out) if json_out => (
            exit::OK,
            serde_json::to_string_pretty(&out.0).unwrap_or_default(),
            String::new(),
        ),
        Ok(out) => (exit::OK, out.1, String::new()),
        Err((code, message)) => (code, String::new(), format!("wanllmdb: {message}")),
    }
}

/// The command's JSON result and its text form.
type Out = (Value, String);

async fn execute(cli: Cli) -> Result<Out, (i32, String)> {
    if let Command::Login { url, key } = &cli.command {
        let c = Client::new(url, key);
        let me = c.me().await.map_err(failure)?;
        let saved = Credentials {
            url: url.clone(),
            key: key.clone(),
        };
        saved.save().map_err(|e| {
            (
                exit::FAILED,
                format!("{}: {e}", credentials_path().display()),
            )
        })?;
        let text = format!("logged in to {url} as {}", me.name);
        return Ok((js(&me), text));
    }
    if let Command::Cache { command } = &cli.command {
        let cache = Cache::from_env();
        let info = match command {
            CacheCommand::Info => cache.info(),
            CacheCommand::Clean => cache
                .clean()
                .map_err(|e| (exit::FAILED, format!("{}: {e}", cache.dir().display())))?,
        };
        let verb = if matches!(command, CacheCommand::Clean) {
            "removed"
        } else {
            "holds"
        };
        let text = format!(
            "{} {verb} {} files, {} bytes (at most {})",
            cache.dir().display(),
            info.files,
            info.bytes,
            info.max_bytes
        );
        return Ok((serde_json::to_value(info).unwrap_or_default(), text));
    }
    let c = client(cli.url, cli.jobs, !cli.json)?;
    match cli.command {
        Command::Login { .. } | Command::Cache { .. } => unreachable!("handled above"),
        Command::Project {
            command: ProjectCommand::Create { name },
        } => {
            let id = c.create_project(&name).await.map_err(failure)?;
            Ok((
                json!({ "id": id, "name": name }),
                format!("created project {name} ({id})"),
            ))
        }
        Command::Project {
            command: ProjectCommand::Ls,
        } => {
            let ps = c.list_projects().await.map_err(failure)?;
            let text = ps
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
                .join("\n");
            Ok((js(&ps), text))
        }
        Command::Run {
            command: RunCommand::Create { project, name },
        } => {
            let id = c.create_run(&project, &name).await.map_err(failure)?;
            Ok((json!({ "id": id, "name": name }), id.to_string()))
        }
        Command::Run {
            command: RunCommand::Ls { project },
        } => {
            let runs = c.list_runs(&project).await.map_err(failure)?;
            let text = runs
                .iter()
                .map(|r| format!("{}\t{}", r.id, r.name))
                .collect::<Vec<_>>()
                .join("\n");
            Ok((js(&runs), text))
        }
        Command::Artifact { command } => artifact(c, command).await,
    }
}

async fn artifact(c: Client, command: ArtifactCommand) -> Result<Out, (i32, String)> {
    match command {
        ArtifactCommand::Put {
            source,
            project,
            name,
            artifact_type,
            aliases,
            description,
            metadata,
            run,
            rehash,
            no_cache,
        } => {
            let t: ArtifactType = artifact_type
                .parse()
                .map_err(|e: wanllmdb_domain::ValidationError| (exit::USAGE, e.to_string()))?;
            let mut a = Artifact::new(&name, t).description(&description);
            if let Some(m) = metadata {
                let v: Value = serde_json::from_str(&m)
                    .map_err(|e| (exit::USAGE, format!("--metadata is not JSON: {e}")))?;
                a = a.metadata(v);
            }
            a = if source.is_dir() {
                a.add_dir(&source)
            } else {
                a.add_file(&source)
            }
            .map_err(failure)?;
            let mut options = LogOptions::default();
            for alias in aliases {
                options = options.alias(&alias);
            }
            if let Some(r) = run {
                options = options.run(r);
            }
            if rehash {
                options = options.rehash();
            }
            if no_cache {
                options = options.skip_cache();
            }
            let logged = c
                .log_artifact_detailed(&project, &a, options)
                .await
                .map_err(failure)?;
            let v = &logged.version;
            let what = if logged.created {
                format!(
                    "sent {} files, {} bytes; {} already stored",
                    logged.uploaded_files, logged.uploaded_bytes, logged.reused_files
                )
            } else {
                "unchanged: the same files as this version".to_owned()
            };
            let text = format!(
                "{project}/{name}:{} ({} files, {} bytes, digest {}; {what}; hashed {} files, {} bytes)",
                v.version,
                v.file_count,
                v.total_size,
                v.digest.clone().unwrap_or_default(),
                logged.hashed_files,
                logged.hashed_bytes
            );
            let mut out = serde_json::to_value(v).unwrap_or_default();
            out["created"] = json!(logged.created);
            out["uploaded_files"] = json!(logged.uploaded_files);
            out["uploaded_bytes"] = json!(logged.uploaded_bytes);
            out["reused_files"] = json!(logged.reused_files);
            out["hashed_files"] = json!(logged.hashed_files);
            out["hashed_bytes"] = json!(logged.hashed_bytes);
            Ok((out, text))
        }
        ArtifactCommand::Get {
            reference,
            output,
            run,
            prefix,
            no_cache,
        } => {
            let mut used = c.use_artifact(&reference, run).await.map_err(failure)?;
            if no_cache {
                used = used.skip_cache();
            }
            let stats = used
                .download_with(&output, prefix.as_deref())
                .await
                .map_err(failure)?;
            let text = format!(
                "{} {} files into {} ({} fetched, {} bytes; {} from the cache)",
                used.version.version,
                stats.files,
                output.display(),
                stats.fetched_files,
                stats.fetched_bytes,
                stats.cached_files
            );
            Ok((
                json!({ "version": used.version, "path": output, "stats": stats }),
                text,
            ))
        }
        ArtifactCommand::Diff { from, to } => {
            let d = c.diff(&from, &to).await.map_err(failure)?;
            let mut text = String::new();
            for f in &d.added {
                text.push_str(&format!("+ {}\n", f.path));
            }
            for f in &d.removed {
                text.push_str(&format!("- {}\n", f.path));
            }
            for c in &d.modified {
                text.push_str(&format!("M {}\n", c.to.path));
            }
            for c in &d.renamed {
                text.push_str(&format!("R {} -> {}\n", c.from.path, c.to.path));
            }
            text.push_str(&format!("{} unchanged", d.unchanged));
            Ok((js(&d), text))
        }
        ArtifactCommand::Alias {
            command: AliasCommand::Set { reference, alias },
        } => {
            let a = c.set_alias(&reference, &alias).await.map_err(failure)?;
            let text = format!("{alias} -> {}", a.version);
            Ok((js(&a), text))
        }
        ArtifactCommand::Alias {
            command: AliasCommand::Rm { artifact, alias },
        } => {
            c.remove_alias(&artifact, &alias).await.map_err(failure)?;
            Ok((json!({ "removed": alias }), format!("removed {alias}")))
        }
        ArtifactCommand::Rm { artifact } => {
            c.delete_artifact(&artifact).await.map_err(failure)?;
            Ok((
                json!({ "deleted": artifact }),
                format!("deleted {artifact}"),
            ))
        }
        ArtifactCommand::Ls {
            project,
            types,
            q,
            alias,
            filter,
            sort,
            limit,
        } => {
            let search = ArtifactSearch {
                types,
                q,
                alias,
                filter,
                sort,
                limit,
            };
            let list = c
                .search_artifacts(&project, &search)
                .await
                .map_err(failure)?;
            let text = list
                .iter()
                .map(|a| {
                    format!(
                        "{}\t{}\t{}",
                        a.name,
                        a.artifact_type.as_str(),
                        a.latest_version.as_deref().unwrap_or("-")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok((js(&list), text))
        }
        ArtifactCommand::Versions {
            name,
            project,
            alias,
            finalized,
            run,
            filter,
            sort,
            limit,
        } => {
            let search = VersionSearch {
                alias,
                finalized,
                run_id: run,
                filter,
                sort,
                limit,
            };
            let list = c
                .search_versions(&project, &name, &search)
                .await
                .map_err(failure)?;
            let text = list
                .iter()
                .map(|v| {
                    format!(
                        "{}\t{} files\t{} bytes\t{}",
                        v.version,
                        v.file_count,
                        v.total_size,
                        v.aliases.join(",")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok((js(&list), text))
        }
        ArtifactCommand::Files {
            reference,
            prefix,
            folders,
        } => {
            let entries: Vec<FolderEntryDto> = if folders {
                c.list_folder(&reference, prefix.as_deref().unwrap_or_default())
                    .await
                    .map_err(failure)?
            } else {
                c.list_files(&reference, prefix.as_deref())
                    .await
                    .map_err(failure)?
                    .into_iter()
                    .map(FolderEntryDto::File)
                    .collect()
            };
            let text = entries
                .iter()
                .map(|e| match e {
                    FolderEntryDto::Folder {
                        path,
                        file_count,
                        total_size,
                        ..
                    } => format!("{path}\t{file_count} files\t{total_size} bytes"),
                    FolderEntryDto::File(f) => file_line(f),
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok((js(&entries), text))
        }
        ArtifactCommand::Lineage { reference, depth } => {
            let l = c.lineage(&reference, depth).await.map_err(failure)?;
            let version_name = |id: &uuid::Uuid| {
                l.versions
                    .iter()
                    .find(|v| v.id == *id)
                    .map(|v| v.version.clone())
                    .unwrap_or_default()
            };
            let run_name = |id: &uuid::Uuid| {
                l.runs
                    .iter()
                    .find(|r| r.id == *id)
                    .map(|r| r.name.clone())
                    .unwrap_or_default()
            };
            let text = l
                .edges
                .iter()
                .map(|e| {
                    let kind = match e.kind {
                        EdgeKindName::Produced => "produced",
                        EdgeKindName::Used => "used",
                    };
                    format!(
                        "run {} {kind} {} ({})",
                        run_name(&e.run),
                        version_name(&e.version),
                        e.version
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            Ok((js(&l), text))
        }
        ArtifactCommand::Info { reference } => {
            let v = c.resolve(&reference).await.map_err(failure)?;
            let detail = c.version_detail(&v).await.map_err(failure)?;
            let mut text = format!(
                "{} {} files {} bytes digest {}\n",
                v.version,
                v.file_count,
                v.total_size,
                v.digest.clone().unwrap_or_default()
            );
            for f in &detail.files {
                text.push_str(&format!("  {}\n", file_line(f)));
            }
            Ok((js(&detail), text.trim_end().to_owned()))
        }
    }
}

/// A value as the `--json` output shows it.
fn js<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A file as the text output lists it: path, size, SHA-256.
fn file_line(f: &FileDto) -> String {
    format!("{}\t{}\t{}", f.path, f.size, f.sha256_hash)
}
