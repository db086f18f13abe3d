//! Page views: each call adds exactly one in a single atomic statement, so a
//! thousand simultaneous calls add a thousand.

use chrono::{DateTime, Utc};
use entity::article;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::article::visible;
use crate::error::{AppError, AppResult};

/// Counts one view of a public article and returns its new total.
pub async fn record_view(
    db: &DatabaseConnection,
    article_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    let updated = article::Entity::update_many()
        .col_expr(
            article::Column::ViewCount,
            Expr::col(article::Column::ViewCount).add(1),
        )
        .filter(article::Column::Id.eq(article_id))
        .filter(visible(now))
        .exec_with_returning(db)
        .await?;
    updated
        .first()
        .map(|article| article.view_count)
        .ok_or_else(|| AppError::NotFound("No published article has this id".to_owned()))
}

/// A public article's total views, without counting one.
pub async fn current(
    db: &DatabaseConnection,
    article_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    article::Entity::find_by_id(article_id)
        .filter(visible(now))
        .select_only()
        .column(article::Column::ViewCount)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("No published article has this id".to_owned()))
}
