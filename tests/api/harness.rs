//! The test harness's own pure logic, tested once here rather than in every
//! test binary that includes it.

use crate::common;

#[test]
fn postgres_urls_get_a_new_database_name() {
    assert_eq!(
        common::replace_database_name("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        common::replace_database_name("postgres://u@h/test?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(
        common::replace_database_name("postgres://u@h", "x"),
        "postgres://u@h/x"
    );
}
