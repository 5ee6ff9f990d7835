//! The cache's settings from the environment, alone in its binary: it sets variables.

use std::path::PathBuf;

use wanllmdb_client::Cache;

#[test]
fn a_given_folder_or_bound_keeps_the_other_settings_from_the_environment() {
    std::env::set_var("WANLLMDB_CACHE_DIR", "/tmp/from-env");
    std::env::set_var("WANLLMDB_CACHE_MAX_BYTES", "456");
    std::env::set_var("WANLLMDB_CACHE_COPY_LIMIT", "123");

    let all = Cache::from_env();
    assert_eq!(all.dir(), PathBuf::from("/tmp/from-env"));
    assert_eq!((all.max_bytes(), all.copy_limit()), (456, 123));

    let dir_given = Cache::from_env_with(Some(PathBuf::from("/tmp/given")), None);
    assert_eq!(dir_given.dir(), PathBuf::from("/tmp/given"));
    assert_eq!((dir_given.max_bytes(), dir_given.copy_limit()), (456, 123));

    let bound_given = Cache::from_env_with(None, Some(7));
    assert_eq!(bound_given.dir(), PathBuf::from("/tmp/from-env"));
    assert_eq!(
        (bound_given.max_bytes(), bound_given.copy_limit()),
        (7, 123)
    );
}
