//! View counts that could not reach the database at shutdown are kept in a
//! local file, and added by the next start, exactly once.
//!
//! A file holds one spill: its id and the counts by article. It is written
//! to a temporary name, synced and renamed, so a file that exists is whole.
//! Applying it adds the counts and records the spill's id in
//! `applied_view_spills` in one transaction; a file whose id is recorded
//! already (the process stopped between that commit and removing the file)
//! is only removed. Files are named after the database they belong to, so
//! one folder can serve several databases without mixing their counts.

use std::{
    collections::HashMap,
    io::Write,
    path::{Path, PathBuf},
};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// What one spill file holds.
#[derive(Debug, Serialize, Deserialize)]
struct Spill {
    /// Recorded when applied, so it is applied once.
    spill_id: Uuid,
    /// Views by article.
    counts: HashMap<Uuid, i64>,
}

/// Where spills of one database are kept.
#[derive(Debug, Clone)]
pub struct SpillFolder {
    folder: PathBuf,
    /// The start of the file names of this database's spills.
    prefix: String,
}

impl SpillFolder {
    /// Spills of the database at `database_url` kept in `folder`. The URL's
    /// password and query are left out of the name, so changing either
    /// still finds the files.
    pub fn new(folder: PathBuf, database_url: &str) -> Self {
        let without_query = database_url.split('?').next().unwrap_or(database_url);
        let without_secret = match (without_query.find("://"), without_query.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                let credentials = &without_query[scheme + 3..at];
                let user = credentials.split(':').next().unwrap_or_default();
                format!(
                    "{}{user}{}",
                    &without_query[..scheme + 3],
                    &without_query[at..]
                )
            }
            _ => without_query.to_owned(),
        };
        let digest = Sha256::digest(without_secret.as_bytes());
        Self {
            folder,
            prefix: format!("views-{}-", hex::encode(&digest[..8])),
        }
    }

    /// Writes `counts` to a new spill file; returns its path.
    pub fn write(&self, counts: &HashMap<Uuid, i64>) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.folder)?;
        let spill = Spill {
            spill_id: Uuid::now_v7(),
            counts: counts.clone(),
        };
        let path = self
            .folder
            .join(format!("{}{}.json", self.prefix, spill.spill_id));
        let partial = path.with_extension("partial");
        let text = serde_json::to_vec(&spill).map_err(std::io::Error::other)?;
        let mut file = std::fs::File::create(&partial)?;
        file.write_all(&text)?;
        file.sync_all()?;
        std::fs::rename(&partial, &path)?;
        if let Ok(folder) = std::fs::File::open(&self.folder) {
            // The rename itself is made durable by syncing the folder.
            let _ = folder.sync_all();
        }
        Ok(path)
    }

    /// This database's spill files, oldest first.
    fn files(&self) -> std::io::Result<Vec<PathBuf>> {
        let entries = match std::fs::read_dir(&self.folder) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(&self.prefix) && name.ends_with(".json"))
            })
            .collect();
        files.sort();
        Ok(files)
    }

    /// Adds every spill of this database that is not yet applied, then
    /// removes its file; returns how many views were added.
    pub async fn apply(&self, db: &DatabaseConnection) -> AppResult<i64> {
        let files = self.files().map_err(|error| {
            AppError::Internal(format!("cannot read the view spill folder: {error}"))
        })?;
        let mut added = 0;
        for path in files {
            // Another process on this folder may have applied and removed
            // it since the folder was listed.
            let text = match std::fs::read(&path) {
                Ok(text) => text,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => {
                    return Err(AppError::Internal(format!(
                        "cannot read {}: {error}",
                        path.display()
                    )));
                }
            };
            let spill: Spill = serde_json::from_slice(&text).map_err(|error| {
                AppError::Internal(format!("{} is not a view spill: {error}", path.display()))
            })?;
            added += apply_once(db, &spill).await?;
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(AppError::Internal(format!(
                        "cannot remove {}: {error}",
                        path.display()
                    )));
                }
            }
        }
        Ok(added)
    }

    /// The folder, for messages.
    pub fn folder(&self) -> &Path {
        &self.folder
    }
}

/// Adds one spill's counts unless its id is recorded; records it.
async fn apply_once(db: &DatabaseConnection, spill: &Spill) -> AppResult<i64> {
    let txn = crate::database::begin_write(db).await?;
    let marker = match txn.get_database_backend() {
        DbBackend::Postgres => {
            "INSERT INTO applied_view_spills (spill_id) VALUES ($1) ON CONFLICT DO NOTHING"
        }
        _ => "INSERT INTO applied_view_spills (spill_id) VALUES (?) ON CONFLICT DO NOTHING",
    };
    let recorded = txn
        .execute_raw(Statement::from_sql_and_values(
            txn.get_database_backend(),
            marker,
            [spill.spill_id.to_string().into()],
        ))
        .await?;
    if recorded.rows_affected() == 0 {
        return Ok(0);
    }
    let counts: Vec<(Uuid, i64)> = spill.counts.iter().map(|(id, n)| (*id, *n)).collect();
    crate::content::views::counter::add_views(&txn, &counts).await?;
    let added = counts.iter().map(|(_, count)| count).sum();
    txn.commit().await?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::SpillFolder;

    #[test]
    fn the_file_names_follow_the_database_not_its_password() {
        let folder = std::path::PathBuf::from("spills");
        let a = SpillFolder::new(folder.clone(), "postgres://app:one@db:5432/news");
        let b = SpillFolder::new(
            folder.clone(),
            "postgres://app:two@db:5432/news?sslmode=require",
        );
        let c = SpillFolder::new(folder, "postgres://app:one@db:5432/other");
        assert_eq!(a.prefix, b.prefix);
        assert_ne!(a.prefix, c.prefix);
    }
}
