//! What a query may cost, checked before it touches the parser's deeper
//! recursion or the database: the size of its text, how deeply its brackets
//! nest, its depth in fields, its number of aliases, and an estimate of the
//! work it asks for, in which lists multiply what they contain.
//!
//! The estimate: every field costs 1; a field with a `first` or `last`
//! argument multiplies what it contains by it (by its default when left
//! out), and `nodes` by the number of its ids;
//! the small unpaged lists (`categories`, `children`, `ancestors`, `tags`)
//! multiply by 10.

use std::collections::HashSet;

use async_graphql::{
    Name, Positioned, Variables,
    parser::types::{
        DocumentOperations, ExecutableDocument, FragmentDefinition, OperationDefinition, Selection,
        SelectionSet,
    },
};

use async_graphql_value::{ConstValue, Value};

use crate::error::AppError;
use crate::graphql::errors::Refusal;

/// The limits a query must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Bytes of query text.
    pub max_bytes: usize,
    /// Levels of nested fields.
    pub max_depth: usize,
    /// Aliased fields in the whole operation.
    pub max_aliases: usize,
    /// The estimated work (see the module's description).
    pub max_complexity: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024,
            max_depth: 12,
            max_aliases: 30,
            max_complexity: 5_000,
        }
    }
}

/// What a query measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueryCost {
    /// Levels of nested fields.
    pub depth: usize,
    /// Aliased fields.
    pub aliases: usize,
    /// Estimated work.
    pub complexity: usize,
    /// `__schema` and `__type` fields: whether the query asks for the schema.
    pub introspection_fields: usize,
}

/// Unpaged lists, counted as this many items each.
const SMALL_LIST: usize = 10;
const SMALL_LISTS: &[&str] = &["categories", "children", "ancestors", "tags"];
/// `first` when a paged field is called without it.
fn default_first(field: &str) -> usize {
    match field {
        "related" => 5,
        "mostViewed" => 10,
        _ => 20,
    }
}

/// How deep an introspection query may nest: what graphql-js 16's
/// `getIntrospectionQuery` needs with every option on (a field's argument's
/// type, then `ofType` nine levels: 14), which GraphiQL, GraphQL Code
/// Generator and Apollo's tools send. A deeper `ofType` chain describes no
/// type this schema has.
const INTROSPECTION_MAX_DEPTH: usize = 14;

/// How many `__schema` and `__type` fields one operation may hold: a tool
/// asks for the schema once; many aliases of it only multiply the work.
const MAX_INTROSPECTION_ROOTS: usize = 2;

fn too_much(measure: &'static str, found: usize, limit: usize) -> Refusal {
    Refusal::TooComplex {
        measure,
        found,
        limit,
    }
}

/// Refuses query text that is too long or nests brackets too deeply to be
/// worth parsing; cheap, and it keeps hostile documents away from the
/// parser's recursion.
pub fn check_text(limits: &QueryLimits, query: &str) -> Result<(), Refusal> {
    if query.len() > limits.max_bytes {
        return Err(too_much("bytes", query.len(), limits.max_bytes));
    }
    // A field level opens at most two brackets: its arguments' and its
    // selection's, plus nested input values; allow generous room.
    let bracket_limit = limits.max_depth * 4 + 8;
    let mut nesting: usize = 0;
    let mut deepest = 0;
    let mut in_string = false;
    let mut in_comment = false;
    let mut escaped = false;
    for character in query.chars() {
        if in_comment {
            in_comment = character != '\n' && character != '\r';
            continue;
        }
        if in_string {
            match (escaped, character) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match character {
            '#' => in_comment = true,
            '"' => in_string = true,
            '{' | '(' | '[' => {
                nesting += 1;
                deepest = deepest.max(nesting);
                if deepest > bracket_limit {
                    return Err(too_much("depth", deepest / 2, limits.max_depth));
                }
            }
            '}' | ')' | ']' => nesting = nesting.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The operation a request runs: the only one, or the one it names.
pub fn selected_operation<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next()
        }
        _ => None,
    };
    operation.map(|operation| &operation.node)
}

/// Measures the operation a request runs and refuses it when over a limit.
/// A document that names no runnable operation is left to the executor to
/// report.
pub fn check_document(
    limits: &QueryLimits,
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Result<QueryCost, Refusal> {
    let Some(operation) = selected_operation(document, operation_name) else {
        return Ok(QueryCost::default());
    };
    let mut walker = Walker {
        document,
        operation,
        variables,
        limits,
        aliases: 0,
        deepest: 0,
        active_fragments: HashSet::new(),
        introspection_roots: 0,
        in_introspection: false,
    };
    let complexity = walker.selection_set(&operation.selection_set.node, 1)?;
    if complexity > limits.max_complexity {
        return Err(too_much("complexity", complexity, limits.max_complexity));
    }
    Ok(QueryCost {
        depth: walker.deepest,
        aliases: walker.aliases,
        complexity,
        introspection_fields: walker.introspection_roots,
    })
}

struct Walker<'a> {
    document: &'a ExecutableDocument,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
    limits: &'a QueryLimits,
    aliases: usize,
    deepest: usize,
    /// Fragments being expanded, to stop a cycle.
    active_fragments: HashSet<&'a Name>,
    /// `__schema` and `__type` fields met so far.
    introspection_roots: usize,
    /// Whether the walk is inside one of them, where the introspection
    /// depth applies.
    in_introspection: bool,
}

impl<'a> Walker<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, depth: usize) -> Result<usize, Refusal> {
        let mut total: usize = 0;
        for selection in &set.items {
            let cost = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    if field.alias.is_some() {
                        self.aliases += 1;
                        if self.aliases > self.limits.max_aliases {
                            return Err(too_much("aliases", self.aliases, self.limits.max_aliases));
                        }
                    }
                    let name = field.name.node.as_str();
                    let enters_introspection =
                        !self.in_introspection && (name == "__schema" || name == "__type");
                    if enters_introspection {
                        self.introspection_roots += 1;
                        if self.introspection_roots > MAX_INTROSPECTION_ROOTS {
                            return Err(too_much(
                                "introspection",
                                self.introspection_roots,
                                MAX_INTROSPECTION_ROOTS,
                            ));
                        }
                    }
                    let max_depth = if self.in_introspection || enters_introspection {
                        self.limits.max_depth.max(INTROSPECTION_MAX_DEPTH)
                    } else {
                        self.limits.max_depth
                    };
                    if field.selection_set.node.items.is_empty() {
                        self.deepest = self.deepest.max(depth);
                        1
                    } else {
                        if depth > max_depth {
                            return Err(too_much("depth", depth, max_depth));
                        }
                        self.deepest = self.deepest.max(depth);
                        let was_in_introspection = self.in_introspection;
                        self.in_introspection |= enters_introspection;
                        let inner = self.selection_set(&field.selection_set.node, depth + 1);
                        self.in_introspection = was_in_introspection;
                        let inner = inner?;
                        let times = self.multiplier(name, &field.arguments);
                        inner.saturating_mul(times).saturating_add(1)
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.selection_set(&fragment.node.selection_set.node, depth)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    let Some(fragment) = self.document.fragments.get(name) else {
                        continue;
                    };
                    if !self.active_fragments.insert(name) {
                        return Err(AppError::bad_input(
                            "query",
                            format!("The fragment `{name}` spreads itself"),
                        )
                        .into());
                    }
                    let cost = self.fragment(fragment, depth)?;
                    self.active_fragments.remove(name);
                    cost
                }
            };
            total = total.saturating_add(cost);
            if total > self.limits.max_complexity {
                return Err(too_much("complexity", total, self.limits.max_complexity));
            }
        }
        Ok(total)
    }

    fn fragment(
        &mut self,
        fragment: &'a Positioned<FragmentDefinition>,
        depth: usize,
    ) -> Result<usize, Refusal> {
        self.selection_set(&fragment.node.selection_set.node, depth)
    }

    /// How many times a field's contents count.
    fn multiplier(&self, name: &str, arguments: &[(Positioned<Name>, Positioned<Value>)]) -> usize {
        if name == "nodes" {
            // As many objects as ids, each resolving the whole selection.
            return self.list_length(arguments, "ids");
        }
        let size = arguments
            .iter()
            .find(|(argument, value)| {
                matches!(argument.node.as_str(), "first" | "last")
                    && !matches!(value.node, Value::Null)
            })
            .map(|(_, value)| &value.node);
        match size {
            Some(value) => self.integer(value).unwrap_or_else(|| default_first(name)),
            None if SMALL_LISTS.contains(&name) => SMALL_LIST,
            None if [
                "articles",
                "comments",
                "related",
                "moderationQueue",
                "auditLog",
                "mostViewed",
            ]
            .contains(&name) =>
            {
                default_first(name)
            }
            None => 1,
        }
    }

    /// How many items the list argument `argument` holds, as a literal or a
    /// variable's value; the page limit when it cannot be told.
    fn list_length(
        &self,
        arguments: &[(Positioned<Name>, Positioned<Value>)],
        argument: &str,
    ) -> usize {
        let most = crate::content::MAX_PAGE_SIZE as usize;
        let length = arguments
            .iter()
            .find(|(name, _)| name.node == argument)
            .and_then(|(_, value)| match &value.node {
                Value::List(items) => Some(items.len()),
                Value::Variable(name) => match self.variables.get(name) {
                    Some(ConstValue::List(items)) => Some(items.len()),
                    _ => None,
                },
                _ => None,
            });
        length.unwrap_or(most).min(most)
    }

    /// An integer argument's value: a literal, or a variable's value or
    /// default, at most the page limit. Negative or absurd values are left
    /// to the resolvers to refuse.
    fn integer(&self, value: &Value) -> Option<usize> {
        let number = match value {
            Value::Number(number) => number.as_u64(),
            Value::Variable(name) => match self.variables.get(name) {
                Some(ConstValue::Number(number)) => number.as_u64(),
                Some(_) => None,
                None => self
                    .operation
                    .variable_definitions
                    .iter()
                    .find(|definition| definition.node.name.node == *name)
                    .and_then(|definition| definition.node.default_value.as_ref())
                    .and_then(|default| match &default.node {
                        ConstValue::Number(number) => number.as_u64(),
                        _ => None,
                    }),
            },
            _ => None,
        }?;
        // Resolvers refuse more than the page limit; count no more than that.
        usize::try_from(number.min(crate::content::MAX_PAGE_SIZE as u64)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(query: &str) -> Result<QueryCost, Refusal> {
        let limits = QueryLimits::default();
        check_text(&limits, query)?;
        let document = async_graphql::parser::parse_query(query)
            .map_err(|_| AppError::bad_input("query", "does not parse"))?;
        check_document(&limits, &document, None, &Variables::default())
    }

    fn measure_of(result: Result<QueryCost, Refusal>) -> Option<&'static str> {
        match result {
            Err(Refusal::TooComplex { measure, .. }) => Some(measure),
            _ => None,
        }
    }

    #[test]
    fn lists_multiply_what_they_contain() {
        let small = cost("{ articles(first: 2) { edges { node { slug title } } } }");
        // articles(1 + 2 × (edges: 1 + node: (1 + 2)))
        assert_eq!(
            small.ok().map(|c| c.complexity),
            Some(1 + 2 * (1 + (1 + 2)))
        );
    }

    #[test]
    fn last_multiplies_as_first_does_and_nodes_by_their_ids() {
        let backward = cost("{ articles(last: 2) { edges { node { slug title } } } }");
        assert_eq!(
            backward.ok().map(|c| c.complexity),
            Some(1 + 2 * (1 + (1 + 2)))
        );
        let three = cost(r#"{ nodes(ids: ["a", "b", "c"]) { id } }"#);
        assert_eq!(three.ok().map(|c| c.complexity), Some(1 + 3));
        let heavy = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Article { comments(last: 100) { edges { node { body } } } } } }";
        assert_eq!(measure_of(cost(heavy)), Some("complexity"));
    }

    #[test]
    fn nested_lists_of_a_hundred_are_too_complex() {
        let query = "{ articles(first: 100) { edges { node { comments(first: 100) { edges { node { body } } } } } } }";
        assert_eq!(measure_of(cost(query)), Some("complexity"));
    }

    #[test]
    fn deep_nesting_is_refused_by_depth() {
        let query = format!("{}{}", "{ a ".repeat(20), "}".repeat(20));
        assert_eq!(measure_of(cost(&query)), Some("depth"));
        let brackets = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert_eq!(
            measure_of(cost(&format!("{{ a(x: {brackets}) }}"))),
            Some("depth")
        );
    }

    #[test]
    fn alias_bombs_are_refused() {
        let fields: String = (0..40)
            .map(|i| format!(" a{i}: categories {{ slug }}"))
            .collect();
        assert_eq!(measure_of(cost(&format!("{{{fields} }}"))), Some("aliases"));
    }

    #[test]
    fn huge_text_is_refused_before_parsing() {
        let query = format!("{{ articles {{ totalCount }} }} #{}", "x".repeat(20_000));
        assert_eq!(measure_of(cost(&query)), Some("bytes"));
    }

    #[test]
    fn brackets_inside_strings_and_comments_do_not_count() {
        let query = format!(
            "{{ article(slug: \"{}\") {{ id }} }} # {}",
            "{".repeat(200),
            "[".repeat(200)
        );
        assert!(cost(&query).is_ok());
    }

    #[test]
    fn the_full_introspection_query_of_graphql_js_fits_the_default_limits() {
        let query = include_str!("../../../tests/introspection/graphql-js-16-all-options.graphql");
        let measured = cost(query);
        assert!(measured.is_ok(), "{measured:?}");
    }

    #[test]
    fn deeper_of_type_chains_and_many_schema_fields_are_refused() {
        let deeper = format!(
            "{{ __schema {{ types {{ fields {{ args {{ type {{ {}kind{} }} }} }} }} }} }}",
            "ofType { ".repeat(10),
            " }".repeat(10)
        );
        assert_eq!(measure_of(cost(&deeper)), Some("depth"));
        let many = "{ a: __schema { queryType { name } } b: __schema { queryType { name } } c: __schema { queryType { name } } }";
        assert_eq!(measure_of(cost(many)), Some("introspection"));
        // Outside introspection the ordinary depth holds.
        let deep_fields = format!(
            "{{ {}slug{} }}",
            "categories { children { ".repeat(7),
            " } }".repeat(7)
        );
        assert_eq!(measure_of(cost(&deep_fields)), Some("depth"));
    }

    #[test]
    fn fragment_cycles_end_the_walk() {
        let query = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert!(cost(query).is_err());
    }

    #[test]
    fn the_contract_pages_fit_the_default_limits() {
        for file in [
            "home.graphql",
            "article-page.graphql",
            "category-page.graphql",
        ] {
            let path = format!("{}/tests/contract/{file}", env!("CARGO_MANIFEST_DIR"));
            let document =
                async_graphql::parser::parse_query(std::fs::read_to_string(path).unwrap()).unwrap();
            let DocumentOperations::Multiple(operations) = &document.operations else {
                panic!("{file} has named operations");
            };
            for name in operations.keys() {
                let limits = QueryLimits::default();
                let result = check_document(
                    &limits,
                    &document,
                    Some(name.as_str()),
                    &Variables::default(),
                );
                assert!(result.is_ok(), "{file} {name}: {result:?}");
            }
        }
    }
}
