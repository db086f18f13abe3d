//! The one error type of the domain and the API, and what each variant
//! tells a client: its message and code (the GraphQL layer turns them into a
//! GraphQL error with `extensions.code`, in `graphql/errors.rs`).
//!
//! Internal faults (the database, a bug) are logged in full and sent to the
//! client as a bare "internal server error", so no SQL, path or driver
//! message ever leaks.

use crate::fault::DbFault;

/// Everything that can go wrong while serving a request.
///
/// It deliberately does not implement `Display`: async-graphql turns any
/// `Display` error into a GraphQL error with its text and no code, so a
/// database message could reach a client through a stray `?`. Conversion
/// goes through the GraphQL layer's mapping (`graphql/errors.rs`) instead,
/// which sets the code and hides internals.
#[derive(Debug, Clone)]
pub enum AppError {
    /// The client sent a value that breaks a rule → `BAD_USER_INPUT`, with
    /// `extensions.field` naming the input field.
    BadInput {
        /// The offending input field, as the client named it (`authorEmail`).
        field: std::borrow::Cow<'static, str>,
        /// What is wrong and how to mend it.
        message: String,
    },
    /// What the client asked for does not exist or is not public → `NOT_FOUND`.
    NotFound(String),
    /// The request needs a valid API token and carried none → `UNAUTHENTICATED`.
    Unauthenticated(String),
    /// The token's role may not do this → `FORBIDDEN`.
    Forbidden(String),
    /// The edit started from a version that is no longer current → `CONFLICT`.
    Conflict(String),
    /// The client is sending too much too fast → `RATE_LIMITED`, with
    /// `extensions.retryAfter` in seconds.
    RateLimited {
        /// What was limited.
        message: String,
        /// How long to wait before trying again.
        retry_after: std::time::Duration,
    },
    /// The database cannot take the request for now (a lock held too long,
    /// a full disk, a lost connection) → `SERVICE_UNAVAILABLE`, with
    /// `extensions.retryAfter` in seconds. Nothing was stored: the client
    /// may send the same request again.
    Unavailable {
        /// What to tell the client.
        message: String,
        /// When trying again makes sense.
        retry_after: std::time::Duration,
    },
    /// The database failed → `INTERNAL_SERVER_ERROR`; the detail is logged only.
    Database(sea_orm::DbErr),
    /// Anything else that is the server's fault → `INTERNAL_SERVER_ERROR`.
    Internal(String),
}

/// Shorthand for results in the domain layer.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A `BAD_USER_INPUT` error for `field`.
    pub fn bad_input(field: &'static str, message: impl Into<String>) -> Self {
        Self::BadInput {
            field: std::borrow::Cow::Borrowed(field),
            message: message.into(),
        }
    }

    /// The message for the log: the whole story, internals included.
    pub fn log_message(&self) -> String {
        match self {
            Self::BadInput { field, message } => format!("bad input in {field}: {message}"),
            Self::NotFound(message) => format!("not found: {message}"),
            Self::Unauthenticated(message) => format!("unauthenticated: {message}"),
            Self::Forbidden(message) => format!("forbidden: {message}"),
            Self::Conflict(message) => format!("conflict: {message}"),
            Self::RateLimited { .. } => self.client_message(),
            Self::Unavailable { message, .. } => format!("unavailable: {message}"),
            Self::Database(error) => format!("database error: {error}"),
            Self::Internal(message) => format!("internal error: {message}"),
        }
    }

    /// The message a client sees: never an internal detail.
    pub fn client_message(&self) -> String {
        match self {
            Self::BadInput { message, .. }
            | Self::NotFound(message)
            | Self::Unauthenticated(message)
            | Self::Forbidden(message)
            | Self::Conflict(message)
            | Self::RateLimited { message, .. }
            | Self::Unavailable { message, .. } => message.clone(),
            Self::Database(_) | Self::Internal(_) => "internal server error".to_owned(),
        }
    }

    /// The `extensions.code` a client sees for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadInput { .. } => "BAD_USER_INPUT",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::Conflict(_) => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Unavailable { .. } => "SERVICE_UNAVAILABLE",
            Self::Database(_) | Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }
}

impl From<std::sync::Arc<AppError>> for AppError {
    /// An error shared by the requests that waited on one load (a
    /// DataLoader batch, a read cache fill) reaches each as what it was.
    fn from(shared: std::sync::Arc<AppError>) -> Self {
        std::sync::Arc::unwrap_or_clone(shared)
    }
}

impl From<sea_orm::DbErr> for AppError {
    /// A unique constraint that fails means two writers raced for the same
    /// name; the client can retry, so it is a `CONFLICT`, not a fault. A
    /// passing fault of the database (see [`DbFault`]) is
    /// `SERVICE_UNAVAILABLE`, logged as a warning; anything else is a fault
    /// of the server.
    fn from(error: sea_orm::DbErr) -> Self {
        let fault = DbFault::of(&error);
        crate::metrics::database_error(fault);
        match fault {
            DbFault::Unique => Self::Conflict(
                "Something with the same unique name or slug was just saved; reload and try again"
                    .to_owned(),
            ),
            fault if fault.is_retryable() => {
                tracing::warn!(kind = fault.name(), %error, "the database refused a request for now");
                Self::Unavailable {
                    message:
                        "The database cannot take this request right now; try again in a moment"
                            .to_owned(),
                    retry_after: std::time::Duration::from_secs(1),
                }
            }
            _ => Self::Database(error),
        }
    }
}
