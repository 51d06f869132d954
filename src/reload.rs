//! Hot reload: the config file is watched, and a valid change is applied
//! to a running [`Gateway`] without dropping a request.
//!
//! Editors save in different ways (in place, or by writing a new file and
//! renaming it over the old one), so the file's directory is watched and
//! events for the file are debounced: the file is read once it has been
//! quiet for a moment. A change that does not load or build is logged with
//! its file, line and field, and the running config stays.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::{sync::mpsc, task::JoinHandle};
use towergate_config::Config;

use crate::gateway::Gateway;

/// How long the file must be quiet before it is read.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// Watches a config file for as long as it lives.
pub struct ConfigWatcher {
    _watcher: RecommendedWatcher,
    task: JoinHandle<()>,
}

impl Drop for ConfigWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for ConfigWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigWatcher").finish_non_exhaustive()
    }
}

/// Watches `path` and applies each valid change to `gateway`, until the
/// returned watcher is dropped. `running` is the config the gateway was
/// built from; a change made between its loading and this call is applied
/// too. Must be called within a tokio runtime.
///
/// # Errors
///
/// The file's directory cannot be watched.
pub fn watch(
    path: impl Into<PathBuf>,
    gateway: Gateway,
    running: &Config,
) -> notify::Result<ConfigWatcher> {
    let path = path.into();
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (changed, mut changes) = mpsc::channel::<()>(1);
    let changed_now = changed.clone();
    // Every change in the directory counts, not only events naming the file:
    // a file mounted through a symlink (a Kubernetes ConfigMap) changes when
    // the link is swapped. The file's text is compared before anything is
    // applied, so other files' events cost one read.
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if !event.kind.is_access() {
            // A full channel already holds a pending change: nothing is lost.
            let _ = changed.try_send(());
        }
    })?;
    watcher.watch(&directory, RecursiveMode::NonRecursive)?;
    let mut applied = Some(running.text().to_owned());
    // The file may have changed after it was loaded and before the watch
    // began: look once now.
    let _ = changed_now.try_send(());
    let task = tokio::spawn(async move {
        while changes.recv().await.is_some() {
            // Wait for the writes to settle.
            loop {
                tokio::time::sleep(DEBOUNCE).await;
                if changes.try_recv().is_err() {
                    break;
                }
            }
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(error) => {
                    tracing::warn!(config = %path.display(), %error, "cannot read the changed config; keeping the running one");
                    continue;
                }
            };
            if applied.as_deref() == Some(text.as_str()) {
                continue;
            }
            if apply(&path, &text, &gateway) {
                applied = Some(text);
            }
        }
    });
    Ok(ConfigWatcher {
        _watcher: watcher,
        task,
    })
}

/// Loads, builds and swaps in `text`; logs and keeps the old config if it
/// cannot. Whether it was applied.
fn apply(path: &Path, text: &str, gateway: &Gateway) -> bool {
    let origin = path.display().to_string();
    let loaded = Config::check_str_with_env(text, &origin, |name| std::env::var(name).ok())
        .and_then(|config| gateway.reload(&config).map(|()| config));
    match loaded {
        Ok(config) => {
            let endpoints: Vec<_> = config.endpoints().iter().map(|e| e.name()).collect();
            tracing::info!(config = %origin, ?endpoints, "config reloaded");
            true
        }
        Err(problems) => {
            for problem in &problems {
                tracing::error!(%problem, "config change not applied");
            }
            tracing::warn!(config = %origin, problems = problems.len(), "keeping the running config");
            false
        }
    }
}
