//! The `extensions.code` of errors raised before any resolver runs, as
//! Apollo Server names them, so that clients and their tooling tell a
//! document that does not parse (`GRAPHQL_PARSE_FAILED`) or does not fit the
//! schema (`GRAPHQL_VALIDATION_FAILED`) from a bad argument value
//! (`BAD_USER_INPUT`). Resolvers' own errors carry their codes already.

use async_graphql::{ErrorExtensionValues, ServerError, parser::Error as ParseError};

/// The code of a document that does not parse.
pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
/// The code of a document that does not fit the schema.
pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

/// The error for text that does not parse: one line saying what was
/// expected (the parser's own message is a multi-line source excerpt), with
/// the position in `locations`.
pub fn parse_failed(error: &ParseError) -> ServerError {
    let reason = match error {
        ParseError::Syntax { message, .. } => message
            .lines()
            .rev()
            .find_map(|line| line.trim_start().strip_prefix("= "))
            .unwrap_or("unexpected input")
            .trim()
            .to_owned(),
        other => other.to_string(),
    };
    let mut server_error =
        ServerError::new(format!("Syntax error: {reason}"), error.positions().next());
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", PARSE_FAILED);
    server_error.extensions = Some(extensions);
    server_error
}

/// The code of a valid document in which the operation to run cannot be
/// told: `operationName` names none of its operations, or is missing where
/// it holds several.
pub const OPERATION_RESOLUTION_FAILURE: &str = "OPERATION_RESOLUTION_FAILURE";

/// Gives `error` its code when it has none: an error with a path came from
/// reading an argument during execution, one that names an argument's value
/// is the client's input, one about the operation's name could not pick an
/// operation, and any other was raised by validation.
pub fn classify(error: &mut ServerError) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_some() {
        return;
    }
    let message = error.message.as_str();
    let code = if !error.path.is_empty() || message.starts_with("Invalid value for argument") {
        "BAD_USER_INPUT"
    } else if message.starts_with("Unknown operation named")
        || message.starts_with("Operation name required")
    {
        OPERATION_RESOLUTION_FAILURE
    } else {
        VALIDATION_FAILED
    };
    extensions.set("code", code);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_error(text: &str) -> ServerError {
        match async_graphql::parser::parse_query(text) {
            Err(error) => parse_failed(&error),
            Ok(_) => panic!("{text} parsed"),
        }
    }

    #[test]
    fn a_syntax_error_is_one_line_with_its_position() {
        let error = parse_error("{ articles { edges { node { slug } }");
        assert!(!error.message.contains('\n'), "{}", error.message);
        assert!(
            error.message.starts_with("Syntax error: expected"),
            "{}",
            error.message
        );
        assert_eq!(error.locations.len(), 1);
        assert_eq!(error.locations[0].line, 1);
        let code = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code").cloned());
        assert_eq!(code, Some(async_graphql::Value::from(PARSE_FAILED)));
    }

    #[test]
    fn other_parse_errors_keep_their_one_line_reason() {
        let error = parse_error("query A { a } query A { b }");
        assert_eq!(error.message, "Syntax error: operation A is defined twice");
    }

    #[test]
    fn errors_without_a_code_are_sorted_by_where_they_arose() {
        let mut validation = ServerError::new("Unknown field \"x\" on type \"Query\".", None);
        classify(&mut validation);
        let mut argument = ServerError::new(
            "Invalid value for argument \"first\", expected type \"Int\"",
            None,
        );
        classify(&mut argument);
        let code = |error: &ServerError| {
            error
                .extensions
                .as_ref()
                .and_then(|e| e.get("code").cloned())
        };
        assert_eq!(
            code(&validation),
            Some(async_graphql::Value::from(VALIDATION_FAILED))
        );
        assert_eq!(
            code(&argument),
            Some(async_graphql::Value::from("BAD_USER_INPUT"))
        );
        let mut unknown = ServerError::new("Unknown operation named \"Nope\"", None);
        classify(&mut unknown);
        assert_eq!(
            code(&unknown),
            Some(async_graphql::Value::from(OPERATION_RESOLUTION_FAILURE))
        );
    }
}
