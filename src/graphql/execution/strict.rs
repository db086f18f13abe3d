//! Checks async-graphql leaves to us, run on every document before it runs:
//!
//! - Directives the schema does not define are validation errors (the
//!   executor would silently ignore `@foo`), as the specification asks.
//! - No string a client sends, in the query text or in its variables, may
//!   hold a NUL character: PostgreSQL cannot store or even compare one, and
//!   SQLite would treat it differently. It is refused here, the same on both
//!   databases and before any statement runs, as `BAD_USER_INPUT` naming the
//!   argument or variable that carried it.

use async_graphql::{
    Name, Positioned, Variables,
    parser::types::{Directive, ExecutableDocument, Selection, SelectionSet},
};
use async_graphql_value::{ConstValue, Value};

use crate::error::AppError;

/// The executable directives this schema defines.
const KNOWN_DIRECTIVES: &[&str] = &["skip", "include"];

/// Refuses a document that uses an unknown directive or carries a NUL in a
/// string, or variables that do.
pub fn check(document: &ExecutableDocument, variables: &Variables) -> Result<(), AppError> {
    for (name, value) in variables.iter() {
        if holds_nul_const(value) {
            return Err(nul_in(name.as_str()));
        }
    }
    for (_, operation) in document.operations.iter() {
        let operation = &operation.node;
        for definition in &operation.variable_definitions {
            directives(&definition.node.directives)?;
            if definition
                .node
                .default_value
                .as_ref()
                .is_some_and(|value| holds_nul_const(&value.node))
            {
                return Err(nul_in(definition.node.name.node.as_str()));
            }
        }
        directives(&operation.directives)?;
        selection_set(&operation.selection_set.node)?;
    }
    for fragment in document.fragments.values() {
        directives(&fragment.node.directives)?;
        selection_set(&fragment.node.selection_set.node)?;
    }
    Ok(())
}

fn selection_set(set: &SelectionSet) -> Result<(), AppError> {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                arguments(&field.arguments)?;
                directives(&field.directives)?;
                selection_set(&field.selection_set.node)?;
            }
            Selection::FragmentSpread(spread) => directives(&spread.node.directives)?,
            Selection::InlineFragment(inline) => {
                directives(&inline.node.directives)?;
                selection_set(&inline.node.selection_set.node)?;
            }
        }
    }
    Ok(())
}

fn directives(list: &[Positioned<Directive>]) -> Result<(), AppError> {
    for directive in list {
        let name = directive.node.name.node.as_str();
        if !KNOWN_DIRECTIVES.contains(&name) {
            return Err(AppError::bad_input(
                "query",
                format!("Unknown directive \"@{name}\"; this API knows @skip and @include"),
            ));
        }
        arguments(&directive.node.arguments)?;
    }
    Ok(())
}

fn arguments(list: &[(Positioned<Name>, Positioned<Value>)]) -> Result<(), AppError> {
    for (name, value) in list {
        if holds_nul(&value.node) {
            return Err(nul_in(name.node.as_str()));
        }
    }
    Ok(())
}

/// The error for a NUL in the argument or variable `name`.
fn nul_in(name: &str) -> AppError {
    AppError::BadInput {
        field: name.to_owned().into(),
        message: format!(
            "`{name}` contains a NUL character (U+0000), which cannot be stored; remove it"
        ),
    }
}

fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Enum(name) => name.as_str().contains('\0'),
        Value::List(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.as_str().contains('\0') || holds_nul(value)),
        _ => false,
    }
}

fn holds_nul_const(value: &ConstValue) -> bool {
    match value {
        ConstValue::String(text) => text.contains('\0'),
        ConstValue::Enum(name) => name.as_str().contains('\0'),
        ConstValue::List(items) => items.iter().any(holds_nul_const),
        ConstValue::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.as_str().contains('\0') || holds_nul_const(value)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(query: &str, variables: serde_json::Value) -> Result<(), AppError> {
        let document = async_graphql::parser::parse_query(query).expect("a query that parses");
        check(&document, &Variables::from_json(variables))
    }

    fn message(result: Result<(), AppError>) -> String {
        match result {
            Err(AppError::BadInput { message, .. }) => message,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn unknown_directives_are_refused_wherever_they_stand() {
        for query in [
            "{ __typename @foo }",
            "query @foo { __typename }",
            "{ ...F @cached } fragment F on Query { __typename }",
            "{ ... @foo { __typename } }",
            "query($a: Int @foo) { __typename }",
            "{ ...F } fragment F on Query @foo { __typename }",
        ] {
            assert!(
                message(checked(query, serde_json::json!({}))).contains("Unknown directive"),
                "{query}"
            );
        }
        assert!(
            checked(
                "{ __typename @skip(if: false) @include(if: true) }",
                serde_json::json!({})
            )
            .is_ok()
        );
    }

    #[test]
    fn a_nul_in_an_argument_or_a_variable_names_where_it_was() {
        assert!(
            message(checked(
                r#"{ article(slug: "a\u0000b") { id } }"#,
                serde_json::json!({})
            ))
            .contains("`slug`")
        );
        assert!(
            message(checked(
                r#"{ articles(filter: { tag: "a\u0000" }) { totalCount } }"#,
                serde_json::json!({})
            ))
            .contains("`filter`")
        );
        assert!(
            message(checked(
                "query($s: String!) { article(slug: $s) { id } }",
                serde_json::json!({ "s": "x\u{0}" })
            ))
            .contains("`s`")
        );
        assert!(
            message(checked(
                "query($i: [String]) { __typename }",
                serde_json::json!({ "i": ["ok", { "deep": "\u{0}" }] })
            ))
            .contains("`i`")
        );
        assert!(
            checked(
                r#"{ article(slug: "中文 ok") { id } }"#,
                serde_json::json!({})
            )
            .is_ok()
        );
    }
}
