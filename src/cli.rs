//! The administrative subcommands: tokens, export and import. Each prints
//! what an operator needs on standard output and nothing secret to the log.

use std::{
    io::{Read, Write},
    path::Path,
};

use entity::api_token::Role;
use sea_orm::DatabaseConnection;

use crate::{
    config::{TokenCommand, TokenRole},
    content::{tokens, transfer, writes},
    error::{AppError, AppResult},
};

impl From<TokenRole> for Role {
    fn from(role: TokenRole) -> Self {
        match role {
            TokenRole::Admin => Self::Admin,
            TokenRole::Editor => Self::Editor,
            TokenRole::Moderator => Self::Moderator,
        }
    }
}

/// Runs `newsroom token …`, writing its answer to `out`.
pub async fn token(
    db: &DatabaseConnection,
    command: TokenCommand,
    out: &mut impl Write,
) -> AppResult<()> {
    let now = crate::content::now();
    let written = match command {
        TokenCommand::Create {
            name,
            role,
            expires_in,
        } => {
            let expires_at = expires_in
                .map(|lifetime| {
                    chrono::Duration::from_std(lifetime)
                        .map(|lifetime| now + lifetime)
                        .map_err(|_| AppError::bad_input("expiresIn", "That lifetime is too long"))
                })
                .transpose()?;
            let issued = tokens::create(
                db,
                &writes::audit::Actor::command_line(),
                &name,
                role.into(),
                expires_at,
            )
            .await?;
            writeln!(
                out,
                "{}\n\nThis is the {:?} token \"{}\" (id {}). It is shown this once; store it now.",
                issued.secret, issued.token.role, issued.token.name, issued.token.id
            )
        }
        TokenCommand::List => {
            let mut text = String::from("id\tname\trole\tcreated\texpires\trevoked\tlast used\n");
            let when = |at: Option<chrono::DateTime<chrono::Utc>>| {
                at.map(|at| at.to_rfc3339())
                    .unwrap_or_else(|| "-".to_owned())
            };
            for token in tokens::list(db).await? {
                text.push_str(&format!(
                    "{}\t{}\t{:?}\t{}\t{}\t{}\t{}\n",
                    token.id,
                    token.name,
                    token.role,
                    token.created_at.to_rfc3339(),
                    when(token.expires_at),
                    when(token.revoked_at),
                    when(token.last_used_at),
                ));
            }
            write!(out, "{text}")
        }
        TokenCommand::Revoke { id } => {
            let revoked = tokens::revoke(db, &writes::audit::Actor::command_line(), id).await?;
            writeln!(out, "revoked token {} ({})", revoked.id, revoked.name)
        }
    };
    written.map_err(|error| AppError::Internal(format!("cannot write the answer: {error}")))
}

/// `newsroom changes`: the feed's changes after `since`, at most `limit`,
/// one JSON object a line.
pub async fn changes(
    db: &DatabaseConnection,
    since: i64,
    limit: u64,
    out: &mut impl Write,
) -> AppResult<()> {
    for change in crate::content::writes::change::after(db, since, limit).await? {
        let line = serde_json::json!({
            "seq": change.seq,
            "at": change.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "kind": change.kind,
            "id": change.entity_id,
            "keys": change.keys,
        });
        writeln!(out, "{line}")
            .map_err(|error| AppError::Internal(format!("cannot write the changes: {error}")))?;
    }
    Ok(())
}

/// Runs `newsroom export FILE`.
pub async fn export(db: &DatabaseConnection, file: &Path) -> AppResult<String> {
    let site = transfer::export(db).await?;
    let json = serde_json::to_vec_pretty(&site)
        .map_err(|error| AppError::Internal(format!("cannot write the export: {error}")))?;
    let io = |error: std::io::Error| {
        AppError::Internal(format!("cannot write {}: {error}", file.display()))
    };
    if file == Path::new("-") {
        std::io::stdout().write_all(&json).map_err(io)?;
    } else {
        std::fs::write(file, &json).map_err(io)?;
    }
    Ok(format!(
        "exported {} sections, {} tags, {} articles and {} comments",
        site.categories.len(),
        site.tags.len(),
        site.articles.len(),
        site.comments.len()
    ))
}

/// Runs `newsroom import FILE`.
pub async fn import(db: &DatabaseConnection, file: &Path) -> AppResult<String> {
    let io = |error: std::io::Error| {
        AppError::bad_input("file", format!("cannot read {}: {error}", file.display()))
    };
    let mut text = String::new();
    if file == Path::new("-") {
        std::io::stdin().read_to_string(&mut text).map_err(io)?;
    } else {
        text = std::fs::read_to_string(file).map_err(io)?;
    }
    let site: transfer::SiteExport = serde_json::from_str(&text).map_err(|error| {
        AppError::bad_input(
            "file",
            format!("{} is not a newsroom export: {error}", file.display()),
        )
    })?;
    let report = transfer::import(db, &site).await?;
    Ok(format!(
        "imported {} rows; {} were already there",
        report.written, report.skipped
    ))
}
