//! Contract suites for the wanllmdb ports. Each public async fn checks one group of MUST-clauses
//! from the port docs against any adapter; the `*_contract_tests!` macros expand to one
//! `#[tokio::test]` per check so an adapter crate runs the whole suite with one line.
//!
//! Every check makes its own users and projects with unique names, so checks can share one
//! store (one database) and run in parallel.

pub mod blob;
pub mod fixtures;
pub mod metadata;
pub mod presigned;
pub mod search;

pub use presigned::{MemoryPresignedClient, PresignedClient, PresignedResponse};

/// Expands to one test per metadata contract check. `$factory` is an async expression giving an
/// `Arc<dyn MetadataStore>`.
#[macro_export]
macro_rules! metadata_contract_tests {
    ($factory:expr) => {
        $crate::metadata_contract_tests!(@each $factory;
            users_and_names, api_keys, sessions, projects_and_memberships, project_delete_cascades,
            artifact_crud, artifact_list_filters_and_pagination, artifact_pagination_stable_under_inserts,
            version_numbering_sequential, version_numbering_concurrent, version_run_rules,
            files_add_list_delete, files_batch_is_all_or_nothing, file_listing_prefix_and_pages,
            finalize_and_latest, update_allowed_after_finalize, aliases_move_and_history,
            delete_version_moves_latest, delete_artifact_cascades, runs_and_lineage_edges,
            downloads_and_stats, blob_records_and_garbage, stale_drafts_and_their_deletion);
        $crate::metadata_contract_tests!(@search $factory;
            artifact_search_matches_the_reference, version_search_matches_the_reference,
            folders_list_children_with_totals, sorted_by_metadata_numbers);
    };
    (@search $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let store: std::sync::Arc<dyn wanllmdb_domain::ports::MetadataStore> = $factory.await;
                $crate::search::$name(store).await;
            }
        )*
    };
    (@each $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let store: std::sync::Arc<dyn wanllmdb_domain::ports::MetadataStore> = $factory.await;
                $crate::metadata::$name(store).await;
            }
        )*
    };
}

/// Expands to one test per blob contract check. `$factory` is an async expression giving
/// `(Arc<dyn BlobStore>, Arc<dyn PresignedClient>)`.
#[macro_export]
macro_rules! blob_contract_tests {
    ($factory:expr) => {
        $crate::blob_contract_tests!(@each $factory;
            put_get_head_delete, put_verifies_digests, put_streams_many_chunks, ranged_get,
            list_paginates_1500_keys, delete_many_counts, presigned_put_and_get,
            presigned_put_rejects_wrong_sha256, presigned_put_rejects_wrong_md5,
            multipart_resume_after_listing_parts, multipart_abort_leaves_nothing,
            multipart_wrong_digest_leaves_nothing, multipart_refused_complete_keeps_the_upload,
            multipart_part_sent_again_counts_its_last_bytes,
            concurrent_puts_of_same_content,
            stale_multipart_uploads_are_listed);
    };
    (@each $factory:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (store, client): (
                    std::sync::Arc<dyn wanllmdb_domain::ports::BlobStore>,
                    std::sync::Arc<dyn $crate::PresignedClient>,
                ) = $factory.await;
                $crate::blob::$name(store, client).await;
            }
        )*
    };
}
