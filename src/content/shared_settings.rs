//! Settings every process on one database must agree on, kept in the
//! database itself: the first process to start makes them, the others read
//! them. Today that is the secret that keys the hashes of clients'
//! addresses, so that a client is one client to every process (for rate
//! limits) and across restarts (for moderators comparing senders).

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

use crate::error::{AppError, AppResult};

/// The fingerprint secret's name in `shared_settings`.
const FINGERPRINT_SECRET: &str = "fingerprint_secret";

/// The database's fingerprint secret, made (random) if it has none yet.
/// Two processes starting at once agree: the second's insert does nothing,
/// and both read the first's.
pub async fn fingerprint_secret(db: &DatabaseConnection) -> AppResult<String> {
    let fresh = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let backend = db.get_database_backend();
    let insert = match backend {
        sea_orm::DbBackend::Postgres => {
            "INSERT INTO shared_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
        }
        _ => {
            "INSERT INTO shared_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"
        }
    };
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        insert,
        [FINGERPRINT_SECRET.into(), fresh.into()],
    ))
    .await?;
    get(db, FINGERPRINT_SECRET)
        .await?
        .ok_or_else(|| AppError::Internal("the fingerprint secret was not stored".to_owned()))
}

/// The value of setting `name`, if it has one.
pub async fn get<C: ConnectionTrait>(db: &C, name: &str) -> AppResult<Option<String>> {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "SELECT value FROM shared_settings WHERE name = $1",
        _ => "SELECT value FROM shared_settings WHERE name = ?",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [name.into()]))
        .await?;
    Ok(row.map(|row| row.try_get("", "value")).transpose()?)
}

/// Sets `name` to `value`, inside the caller's transaction.
pub async fn set<C: ConnectionTrait>(db: &C, name: &str, value: &str) -> AppResult<()> {
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DbBackend::Postgres => {
            "INSERT INTO shared_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value"
        }
        _ => {
            "INSERT INTO shared_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        }
    };
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [name.into(), value.into()],
    ))
    .await?;
    Ok(())
}
