//! Response fields in the order the query asked for them.
//!
//! The specification orders a response's fields as the query's selection
//! set does, and clients' snapshot tests and caches (identical bodies, hence
//! one ETag) depend on it. async-graphql 7.2 resolves a selection's fields
//! side by side and keeps them in the order they finish, so a field that
//! waits on a DataLoader comes last, and not always. This puts each object
//! of the response back in the query's order, fragments spread where they
//! stand.

use std::collections::HashMap;

use async_graphql::{
    Name, Value,
    parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet},
};

/// Reorders every object in `data` to follow `operation`'s selection set.
pub fn follow_query(data: &mut Value, document: &ExecutableDocument, operation: &SelectionSet) {
    let plan = Plan::of(&[operation], &document.fragments, &mut Vec::new());
    plan.apply(data);
}

type Fragments = HashMap<Name, async_graphql::Positioned<FragmentDefinition>>;

/// The response keys of one selection, in the query's order, each with the
/// plan of its own selection. Made once per request, then laid over every
/// object (and every item of every list) it describes.
#[derive(Default)]
struct Plan<'a> {
    keys: Vec<(&'a Name, Plan<'a>)>,
}

impl<'a> Plan<'a> {
    /// The plan of `sets` merged (a key selected twice keeps its first
    /// place and both selections), fragments spread where they stand.
    fn of(
        sets: &[&'a SelectionSet],
        fragments: &'a Fragments,
        spreading: &mut Vec<&'a Name>,
    ) -> Self {
        let mut selected: Vec<(&'a Name, Vec<&'a SelectionSet>)> = Vec::new();
        collect(sets, fragments, spreading, &mut selected);
        Self {
            keys: selected
                .into_iter()
                .map(|(key, inner)| {
                    let plan = if inner.iter().all(|set| set.items.is_empty()) {
                        Plan::default()
                    } else {
                        Plan::of(&inner, fragments, spreading)
                    };
                    (key, plan)
                })
                .collect(),
        }
    }

    fn rank(&self, key: &Name) -> usize {
        self.keys
            .iter()
            .position(|(known, _)| *known == key)
            .unwrap_or(usize::MAX)
    }

    /// Puts `value`'s objects in this plan's order; objects already in it
    /// (most of them) are only read.
    fn apply(&self, value: &mut Value) {
        match value {
            Value::List(items) => {
                for item in items {
                    self.apply(item);
                }
            }
            Value::Object(map) => {
                if !map.keys().map(|key| self.rank(key)).is_sorted() {
                    map.sort_by(|a, _, b, _| self.rank(a).cmp(&self.rank(b)));
                }
                for (key, field) in map.iter_mut() {
                    if let Some((_, inner)) = self.keys.iter().find(|(known, _)| *known == key)
                        && !inner.keys.is_empty()
                    {
                        inner.apply(field);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The response keys `sets` select, in order, each with the selection sets
/// of its fields.
fn collect<'a>(
    sets: &[&'a SelectionSet],
    fragments: &'a Fragments,
    spreading: &mut Vec<&'a Name>,
    keys: &mut Vec<(&'a Name, Vec<&'a SelectionSet>)>,
) {
    for set in sets {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let key = &field.node.response_key().node;
                    let inner = &field.node.selection_set.node;
                    match keys.iter_mut().find(|(known, _)| *known == key) {
                        Some((_, inners)) => inners.push(inner),
                        None => keys.push((key, vec![inner])),
                    }
                }
                Selection::InlineFragment(inline) => collect(
                    &[&inline.node.selection_set.node],
                    fragments,
                    spreading,
                    keys,
                ),
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    // A cycle is refused before execution; never loop here.
                    if spreading.contains(&name) {
                        continue;
                    }
                    if let Some(fragment) = fragments.get(name) {
                        spreading.push(name);
                        collect(
                            &[&fragment.node.selection_set.node],
                            fragments,
                            spreading,
                            keys,
                        );
                        spreading.pop();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordered(query: &str, data: serde_json::Value) -> String {
        let document = async_graphql::parser::parse_query(query).expect("a query that parses");
        let (_, operation) = document.operations.iter().next().expect("an operation");
        let mut value = Value::from_json(data).expect("JSON data");
        follow_query(&mut value, &document, &operation.node.selection_set.node);
        serde_json::to_string(&value).expect("JSON again")
    }

    #[test]
    fn objects_and_lists_follow_the_query_with_aliases_and_fragments() {
        let query = "{ article { viewCount slug ...F comments { edges { node { body id } } } t: title } } fragment F on Article { tags { slug } id }";
        let shuffled = serde_json::json!({ "article": {
            "t": "T", "comments": { "edges": [ { "node": { "id": 1, "body": "b" } } ] },
            "id": 7, "slug": "s", "tags": [ { "slug": "x" } ], "viewCount": 3,
        } });

        assert_eq!(
            ordered(query, shuffled),
            r#"{"article":{"viewCount":3,"slug":"s","tags":[{"slug":"x"}],"id":7,"comments":{"edges":[{"node":{"body":"b","id":1}}]},"t":"T"}}"#
        );
    }

    #[test]
    fn a_field_selected_twice_merges_its_selections_in_first_order() {
        let query = "{ a { x } b ... on Query { a { y x } } }";
        let shuffled = serde_json::json!({ "b": 1, "a": { "y": 2, "x": 1 } });

        assert_eq!(ordered(query, shuffled), r#"{"a":{"x":1,"y":2},"b":1}"#);
    }
}
