//! How newsroom connects to PostgreSQL: without TLS to this machine unless
//! the URL asks for it, since encrypting loopback traffic costs CPU and
//! protects nothing.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// Whether the server-side session of `db` runs over TLS.
async fn session_uses_tls(db: &DatabaseConnection) -> bool {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ))
        .await
        .expect("a pg_stat_ssl query")
        .expect("a row for this session");
    row.try_get::<bool>("", "ssl").expect("a boolean")
}

#[tokio::test]
async fn loopback_postgres_is_reached_without_tls_unless_the_url_asks() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("this test inspects PostgreSQL sessions; it runs with DATABASE_URL=postgres://…");
        return;
    };
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', '?']).next())
        .map(|authority| authority.rsplit('@').next().unwrap_or(authority))
        .unwrap_or_default();
    let loopback = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host == *name || host.starts_with(&format!("{name}:")));
    if !url.starts_with("postgres") || !loopback || std::env::var_os("PGSSLMODE").is_some() {
        eprintln!("this test needs DATABASE_URL on a loopback address and no PGSSLMODE");
        return;
    }
    let plain = format!(
        "{}?application_name=newsroom",
        url.split('?').next().unwrap()
    );
    let db = newsroom::database::connect(&plain, 4).await.unwrap();
    let server_offers_tls = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SHOW ssl",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<String>("", "ssl")
        .unwrap()
        == "on";
    assert!(!session_uses_tls(&db).await, "TLS towards {url}");

    if server_offers_tls {
        let asked = format!("{}?sslmode=require", url.split('?').next().unwrap());
        let db = newsroom::database::connect(&asked, 4).await.unwrap();
        assert!(session_uses_tls(&db).await, "sslmode=require was ignored");
    } else {
        eprintln!("this PostgreSQL offers no TLS: only the plain half ran");
    }
}
