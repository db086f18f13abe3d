//! The section tree. Sites have tens of sections, not millions, so a request
//! loads the whole tree once and answers every ancestor, child and descendant
//! question from memory.
//!
//! The database numbers the tree's versions (a trigger adds one on every
//! change to `categories`), and the server keeps the last tree it read with
//! its version ([`SectionsMemo`]): a request that learns the current version
//! in a statement it runs anyway reuses that tree instead of reading it.

pub mod editor;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use entity::category;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryOrder, QuerySelect,
    QueryTrait, sea_query::Expr,
};
use uuid::Uuid;

use crate::error::AppResult;

/// Every section, indexed for walking up and down.
#[derive(Debug, Default)]
pub struct CategoryTree {
    by_id: HashMap<Uuid, category::Model>,
    /// Child ids per parent (`None` for the top level), in display order.
    children: HashMap<Option<Uuid>, Vec<Uuid>>,
    /// The version the database gave the tree when it was read, if known.
    version: Option<i64>,
}

/// The last section tree this server read, with its version, shared by all
/// requests. It is only handed out for the version a request read from the
/// database, so it is never stale, across processes too.
#[derive(Default)]
pub struct SectionsMemo {
    latest: Mutex<Option<Arc<CategoryTree>>>,
}

impl SectionsMemo {
    /// The remembered tree, if it is the tree at `version`.
    pub fn at_version(&self, version: i64) -> Option<Arc<CategoryTree>> {
        let latest = self.latest.lock().ok()?;
        latest
            .as_ref()
            .filter(|tree| tree.version == Some(version))
            .cloned()
    }

    /// Remembers `tree` if it is newer than the remembered one.
    pub fn remember(&self, tree: &Arc<CategoryTree>) {
        let Some(version) = tree.version else {
            return;
        };
        if let Ok(mut latest) = self.latest.lock()
            && latest
                .as_ref()
                .and_then(|known| known.version)
                .is_none_or(|known| known < version)
        {
            *latest = Some(Arc::clone(tree));
        }
    }
}

impl CategoryTree {
    /// How many sections there are.
    pub fn section_count(&self) -> usize {
        self.by_id.len()
    }

    /// Reads every section from the database.
    pub async fn load(db: &DatabaseConnection) -> AppResult<Self> {
        Self::load_in(db).await
    }

    /// Reads every section, and the tree's version, over any connection, a
    /// transaction included.
    pub async fn load_in(db: &impl ConnectionTrait) -> AppResult<Self> {
        let statement = category::Entity::find()
            .column_as(
                Expr::cust(crate::content::sql::SECTIONS_VERSION),
                "sections_version",
            )
            .order_by_asc(category::Column::Position)
            .order_by_asc(category::Column::Name)
            .order_by_asc(category::Column::Id)
            .build(db.get_database_backend());
        let mut version = None;
        let mut rows = Vec::new();
        for row in db.query_all_raw(statement).await? {
            version = row.try_get("", "sections_version")?;
            rows.push(category::Model::from_query_result(&row, "")?);
        }
        Ok(Self {
            version,
            ..Self::from_rows(rows)
        })
    }

    /// Builds the tree from rows already in display order.
    pub fn from_rows(rows: Vec<category::Model>) -> Self {
        let mut children: HashMap<Option<Uuid>, Vec<Uuid>> = HashMap::new();
        for row in &rows {
            children.entry(row.parent_id).or_default().push(row.id);
        }
        let by_id = rows.into_iter().map(|row| (row.id, row)).collect();
        Self {
            by_id,
            children,
            version: None,
        }
    }

    /// The section with this id.
    pub fn get(&self, id: Uuid) -> Option<&category::Model> {
        self.by_id.get(&id)
    }

    /// The section with this slug.
    pub fn by_slug(&self, slug: &str) -> Option<&category::Model> {
        self.by_id.values().find(|category| category.slug == slug)
    }

    /// The top-level sections in display order.
    pub fn roots(&self) -> Vec<&category::Model> {
        self.children_of(None)
    }

    /// The direct sub-sections of `id` in display order.
    pub fn children(&self, id: Uuid) -> Vec<&category::Model> {
        self.children_of(Some(id))
    }

    fn children_of(&self, parent: Option<Uuid>) -> Vec<&category::Model> {
        self.children
            .get(&parent)
            .map(|ids| ids.iter().filter_map(|id| self.by_id.get(id)).collect())
            .unwrap_or_default()
    }

    /// The sections above `id`, from the root down to its parent; empty for a
    /// top-level section. A cycle in bad data ends the walk instead of looping.
    pub fn ancestors(&self, id: Uuid) -> Vec<&category::Model> {
        let mut chain = Vec::new();
        let mut current = self.by_id.get(&id).and_then(|c| c.parent_id);
        while let Some(parent_id) = current {
            let Some(parent) = self.by_id.get(&parent_id) else {
                break;
            };
            if parent_id == id || chain.len() > self.by_id.len() {
                break;
            }
            chain.push(parent);
            current = parent.parent_id;
        }
        chain.reverse();
        chain
    }

    /// `id` and every section below it, at any depth.
    pub fn with_descendants(&self, id: Uuid) -> Vec<Uuid> {
        let mut found = vec![id];
        let mut index = 0;
        while let Some(&current) = found.get(index) {
            for child in self.children.get(&Some(current)).into_iter().flatten() {
                if !found.contains(child) {
                    found.push(*child);
                }
            }
            index += 1;
        }
        found
    }
}

impl crate::content::reads::Reads<'_> {
    /// The section tree: the one remembered at `version` when the request
    /// saw one, else through the read cache, remembered for later requests.
    pub async fn sections(&self, version: Option<i64>) -> AppResult<Arc<CategoryTree>> {
        if let Some(tree) = version.and_then(|version| self.sections.at_version(version)) {
            return Ok(tree);
        }
        let lookup = crate::content::cache::Lookup::Sections;
        self.cache
            .get_or_load(self.db, self.now, lookup, async {
                let tree = Arc::new(CategoryTree::load(self.db).await?);
                self.sections.remember(&tree);
                Ok(tree)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn section(slug: &str, parent: Option<Uuid>, position: i32) -> category::Model {
        category::Model {
            id: Uuid::now_v7(),
            slug: slug.to_owned(),
            name: slug.to_owned(),
            description: String::new(),
            parent_id: parent,
            position,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn ancestors_run_from_the_root_to_the_parent() {
        let root = section("tech", None, 0);
        let middle = section("ai", Some(root.id), 0);
        let leaf = section("llm", Some(middle.id), 0);
        let (root_id, middle_id, leaf_id) = (root.id, middle.id, leaf.id);
        let tree = CategoryTree::from_rows(vec![root, middle, leaf]);
        let slugs: Vec<_> = tree
            .ancestors(leaf_id)
            .iter()
            .map(|c| c.slug.as_str())
            .collect();
        assert_eq!(slugs, ["tech", "ai"]);
        assert!(tree.ancestors(root_id).is_empty());
        assert_eq!(
            tree.with_descendants(root_id),
            vec![root_id, middle_id, leaf_id]
        );
    }

    #[test]
    fn a_cycle_in_bad_data_does_not_hang() {
        let mut a = section("a", None, 0);
        let b = section("b", Some(a.id), 0);
        a.parent_id = Some(b.id);
        let (a_id, b_id) = (a.id, b.id);
        let tree = CategoryTree::from_rows(vec![a, b]);
        assert!(tree.ancestors(a_id).len() <= 2);
        assert_eq!(tree.with_descendants(b_id).len(), 2);
    }
}
