//! The database going away: requests fail fast with a clear error and no
//! internals, `/readyz` says not ready while `/healthz` stays up, and service
//! comes back by itself when the database returns. A TCP proxy between the
//! server and PostgreSQL is cut and restored to stage it; this runs in the
//! PostgreSQL pass of the suite.

use crate::common;

use std::time::{Duration, Instant};

use common::proxy::Proxy;
use newsroom::config::Config;
use serde_json::{Value, json};

#[tokio::test]
async fn the_database_going_away_fails_fast_and_service_recovers_by_itself() {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("this test stages a PostgreSQL outage; it runs with DATABASE_URL=postgres://…");
        return;
    };
    if !url.starts_with("postgres") {
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    let direct = common::fresh_database_url(&folder.path().join("unused.db")).await;
    let proxy = Proxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let via_proxy = common::proxy::url_through(&direct, proxy.address);
    let config = Config::for_database(via_proxy);
    let (_state, base) = common::serve_config(&config).await;
    let client = reqwest::Client::new();
    let query_first =
        |first: u32| {
            let client = client.clone();
            let base = base.clone();
            async move {
                client
            .post(format!("{base}/graphql"))
            .json(&json!({ "query": format!("{{ articles(first: {first}) {{ totalCount }} }}") }))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
            }
        };
    let status = |path: &'static str| {
        let client = client.clone();
        let base = base.clone();
        async move {
            client
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };

    let query = || query_first(3);

    assert_eq!(query().await["data"]["articles"]["totalCount"], 22);
    assert_eq!(status("/readyz").await, 200);

    proxy.cut().await;
    // What the read cache holds is still served; the rest fails fast.
    assert_eq!(query().await["data"]["articles"]["totalCount"], 22);
    let asked = Instant::now();
    let failed = query_first(4).await;
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "took {:?}",
        asked.elapsed()
    );
    assert_eq!(
        failed["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{failed}"
    );
    assert!(
        failed["errors"][0]["extensions"]["retryAfter"].is_u64(),
        "{failed}"
    );
    assert!(
        !failed.to_string().contains("5432"),
        "no internals reach the client: {failed}"
    );
    assert_eq!(status("/readyz").await, 503);
    assert_eq!(status("/healthz").await, 200);

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(30);
    while status("/readyz").await != 200 {
        assert!(Instant::now() < deadline, "never became ready again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(query().await["data"]["articles"]["totalCount"], 22);
}
