//! Scalars with the wire formats the contract fixes.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{SecondsFormat, SubsecRound, Utc};

/// A moment in time: RFC 3339 in UTC, like `2026-05-08T09:30:00Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// A moment in time: RFC 3339 in UTC, like `2026-05-08T09:30:00Z`.
#[Scalar(
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(text) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        // To the microsecond, as the databases keep times and cursors
        // carry them: a nanosecond left in a stored time would put an
        // article beside its own cursor rather than on one side of it.
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|time| Self(time.with_timezone(&Utc).trunc_subsecs(6)))
            .map_err(|_| InputValueError::custom("expected an RFC 3339 time"))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl From<chrono::DateTime<Utc>> for DateTime {
    fn from(time: chrono::DateTime<Utc>) -> Self {
        Self(time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_is_kept_to_the_microsecond() {
        let parsed = <DateTime as ScalarType>::parse(Value::String(
            "2026-05-08T09:30:00.123456789+08:00".to_owned(),
        ));
        assert_eq!(
            parsed.ok().map(|time| time.to_value()),
            Some(Value::String("2026-05-08T01:30:00.123456Z".to_owned()))
        );
    }
}
