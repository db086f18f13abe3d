//! Input that async-graphql alone would let through: unknown directives,
//! field-name suggestions with introspection off, and NUL characters.
//!
//! A NUL character in any string a client sends is the client's error,
//! `BAD_USER_INPUT`, on both databases. The table of cases is generated from
//! the schema's own introspection: every String or ID argument of every
//! query and mutation field, and every String field of their input objects,
//! so a new argument is covered without editing this test.

use crate::common;

use std::collections::HashMap;

use common::{Options, TestApp};
use entity::api_token::Role;
use serde_json::{Map, Value, json};

const INTROSPECTION: &str = r#"{ __schema {
  queryType { name } mutationType { name }
  types { name kind
    fields { name args { name type { ...T } } type { ...T } }
    inputFields { name type { ...T } }
    enumValues { name } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"#;

/// A type reference from introspection, unwrapped.
struct TypeRef {
    /// `SCALAR`, `ENUM`, `INPUT_OBJECT`, `OBJECT`, …
    kind: String,
    name: String,
    required: bool,
    list: bool,
    /// The type as written in a variable definition.
    written: String,
}

fn type_ref(value: &Value) -> TypeRef {
    fn written(value: &Value) -> String {
        match value["kind"].as_str().unwrap() {
            "NON_NULL" => format!("{}!", written(&value["ofType"])),
            "LIST" => format!("[{}]", written(&value["ofType"])),
            _ => value["name"].as_str().unwrap().to_owned(),
        }
    }
    let mut inner = value;
    let required = value["kind"] == "NON_NULL";
    let mut list = false;
    while inner["kind"] == "NON_NULL" || inner["kind"] == "LIST" {
        list |= inner["kind"] == "LIST";
        inner = &inner["ofType"];
    }
    TypeRef {
        kind: inner["kind"].as_str().unwrap().to_owned(),
        name: inner["name"].as_str().unwrap().to_owned(),
        required,
        list,
        written: written(value),
    }
}

struct Schema {
    types: HashMap<String, Value>,
}

impl Schema {
    /// A harmless value of `ty` with every required input field filled.
    fn sample(&self, ty: &TypeRef) -> Value {
        let one = match (ty.kind.as_str(), ty.name.as_str()) {
            ("SCALAR", "Int") => json!(1),
            ("SCALAR", "Float") => json!(1.0),
            ("SCALAR", "Boolean") => json!(false),
            ("SCALAR", "DateTime") => json!("2026-01-01T00:00:00Z"),
            ("SCALAR", "ID") => json!("0190a0b0-0000-7000-8000-000000000000"),
            ("SCALAR", _) => json!("x"),
            ("ENUM", name) => self.types[name]["enumValues"][0]["name"].clone(),
            ("INPUT_OBJECT", name) => {
                let mut object = Map::new();
                for field in self.types[name]["inputFields"].as_array().unwrap() {
                    let field_type = type_ref(&field["type"]);
                    if field_type.required {
                        object.insert(
                            field["name"].as_str().unwrap().to_owned(),
                            self.sample(&field_type),
                        );
                    }
                }
                Value::Object(object)
            }
            other => panic!("no sample for {other:?}"),
        };
        if ty.list { json!([one]) } else { one }
    }
}

/// One request with a NUL where the case says.
struct Case {
    label: String,
    operation: &'static str,
    query: String,
    variables: Value,
}

fn cases(schema: &Schema, root: &str, operation: &'static str) -> Vec<Case> {
    let mut cases = Vec::new();
    let Some(fields) = schema.types[root]["fields"].as_array() else {
        return cases;
    };
    for field in fields {
        let field_name = field["name"].as_str().unwrap();
        let args: Vec<(String, TypeRef)> = field["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|arg| {
                (
                    arg["name"].as_str().unwrap().to_owned(),
                    type_ref(&arg["type"]),
                )
            })
            .collect();
        let selection = match type_ref(&field["type"]).kind.as_str() {
            "OBJECT" | "INTERFACE" | "UNION" => " { __typename }",
            _ => "",
        };
        for (target, target_type) in &args {
            // The values to try for this argument: itself when a string,
            // else each string field of its input object.
            let mut poisoned: Vec<(String, Value)> = Vec::new();
            match (target_type.kind.as_str(), target_type.name.as_str()) {
                ("SCALAR", "String" | "ID") => {
                    let nul = json!("坏\u{0}值");
                    let value = if target_type.list { json!([nul]) } else { nul };
                    poisoned.push((target.clone(), value));
                }
                ("INPUT_OBJECT", name) => {
                    for input_field in schema.types[name]["inputFields"].as_array().unwrap() {
                        let input_type = type_ref(&input_field["type"]);
                        if input_type.kind == "SCALAR"
                            && (input_type.name == "String" || input_type.name == "ID")
                        {
                            let plain = schema.sample(&TypeRef {
                                list: false,
                                ..type_ref(&input_field["type"])
                            });
                            let value = json!(format!("{}\u{0}", plain.as_str().unwrap_or("x")));
                            let mut sample = schema.sample(&TypeRef {
                                list: false,
                                kind: target_type.kind.clone(),
                                name: target_type.name.clone(),
                                required: true,
                                written: String::new(),
                            });
                            sample[input_field["name"].as_str().unwrap()] = if input_type.list {
                                json!([value])
                            } else {
                                value
                            };
                            poisoned.push((
                                format!("{target}.{}", input_field["name"].as_str().unwrap()),
                                if target_type.list {
                                    json!([sample])
                                } else {
                                    sample
                                },
                            ));
                        }
                    }
                }
                _ => {}
            }
            for (label, value) in poisoned {
                let mut definitions = Vec::new();
                let mut arguments = Vec::new();
                let mut variables = Map::new();
                for (name, ty) in &args {
                    if name == target {
                        definitions.push(format!("${name}: {}", ty.written));
                        arguments.push(format!("{name}: ${name}"));
                        variables.insert(name.clone(), value.clone());
                    } else if ty.required {
                        definitions.push(format!("${name}: {}", ty.written));
                        arguments.push(format!("{name}: ${name}"));
                        variables.insert(name.clone(), schema.sample(ty));
                    }
                }
                cases.push(Case {
                    label: format!("{root}.{field_name}({label})"),
                    operation,
                    query: format!(
                        "{operation}({}) {{ {field_name}({}){selection} }}",
                        definitions.join(", "),
                        arguments.join(", ")
                    ),
                    variables: Value::Object(variables),
                });
            }
        }
    }
    cases
}

#[tokio::test]
async fn a_nul_in_any_string_argument_is_bad_user_input_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.token(Role::Admin).await;
    let introspection = app.data_as(&admin, INTROSPECTION, json!({})).await;
    let schema = Schema {
        types: introspection["__schema"]["types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|ty| (ty["name"].as_str().unwrap().to_owned(), ty.clone()))
            .collect(),
    };
    let query_root = introspection["__schema"]["queryType"]["name"]
        .as_str()
        .unwrap();
    let mutation_root = introspection["__schema"]["mutationType"]["name"]
        .as_str()
        .unwrap();
    let mut all = cases(&schema, query_root, "query");
    all.extend(cases(&schema, mutation_root, "mutation"));
    assert!(all.len() >= 30, "only {} cases were generated", all.len());
    assert!(all.iter().any(|case| case.operation == "mutation"));

    for case in &all {
        let answer = app
            .graphql_as(&admin, &case.query, case.variables.clone())
            .await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{}: {}\n{answer}",
            case.label, case.query
        );
        assert!(
            answer["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("NUL"),
            "{}: {answer}",
            case.label
        );
    }
    // Nothing was written by any of them: the demo site is as it was.
    let articles = app
        .graphql("{ articles(first: 1) { totalCount } }", json!({}))
        .await;
    assert_eq!(articles["data"]["articles"]["totalCount"], 22, "{articles}");
}

#[tokio::test]
async fn unknown_directives_are_validation_errors() {
    let app = TestApp::spawn().await;
    for query in [
        "{ __typename @foo }",
        "query Q @cached { __typename }",
        "{ articles(first: 1) @live { totalCount } }",
    ] {
        let answer = app.graphql(query, json!({})).await;
        assert!(
            answer.get("data").is_none_or(Value::is_null),
            "{query}: {answer}"
        );
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{query}: {answer}"
        );
        assert!(
            answer["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("Unknown directive")
        );
    }
    let allowed = app
        .graphql("{ __typename @include(if: true) }", json!({}))
        .await;
    assert_eq!(allowed["data"]["__typename"], "Query", "{allowed}");
}

#[tokio::test]
async fn with_introspection_off_errors_suggest_no_field_names() {
    let app = TestApp::spawn_with(Options {
        tweak: |config| config.no_introspection = true,
        ..Options::default()
    })
    .await;

    let answer = app.graphql("{ artcles { totalCount } }", json!({})).await;

    let message = answer["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "{message}");
    assert!(!message.contains("articles"), "{message}");
}
