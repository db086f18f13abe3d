//! The section tree. Sites have tens of sections, not millions, so a request
//! loads the whole tree once and answers every ancestor, child and descendant
//! question from memory.

use std::collections::HashMap;

use entity::category;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder};
use uuid::Uuid;

use crate::error::AppResult;

/// Every section, indexed for walking up and down.
#[derive(Debug, Default)]
pub struct CategoryTree {
    by_id: HashMap<Uuid, category::Model>,
    /// Child ids per parent (`None` for the top level), in display order.
    children: HashMap<Option<Uuid>, Vec<Uuid>>,
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

    /// Reads every section over any connection, a transaction included.
    pub async fn load_in(db: &impl ConnectionTrait) -> AppResult<Self> {
        let rows = category::Entity::find()
            .order_by_asc(category::Column::Position)
            .order_by_asc(category::Column::Name)
            .order_by_asc(category::Column::Id)
            .all(db)
            .await?;
        Ok(Self::from_rows(rows))
    }

    /// Builds the tree from rows already in display order.
    pub fn from_rows(rows: Vec<category::Model>) -> Self {
        let mut children: HashMap<Option<Uuid>, Vec<Uuid>> = HashMap::new();
        for row in &rows {
            children.entry(row.parent_id).or_default().push(row.id);
        }
        let by_id = rows.into_iter().map(|row| (row.id, row)).collect();
        Self { by_id, children }
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
