//! Kept answers whose view counts stay current: an answer showing
//! `viewCount` is kept as a template with a placeholder where each count
//! goes, and the counter's totals are written in as it is served, so it can
//! live until a change drops it rather than one view flush interval.

use crate::{content::cache::responses, graphql, state::AppState};

/// The answer of `outcome` as a template to keep, with a placeholder where
/// each view count goes and where each lies, so that the counts are written
/// in as it is served and the answer lives until a change drops it rather
/// than one flush interval; `None` when it shows no count or a placeholder
/// cannot be told apart.
pub(super) fn count_template(
    outcome: &graphql::Outcome,
    media: super::negotiation::MediaType,
) -> Option<(bytes::Bytes, Vec<responses::CountSlot>)> {
    if outcome.counts.is_empty() {
        return None;
    }
    let data = graphql::shown::with_placeholders(
        &outcome.response.data,
        &outcome.counts,
        responses::count_placeholder,
    )?;
    let mut template = async_graphql::Response::new(data);
    template.extensions = outcome.response.extensions.clone();
    let encoded = super::negotiation::encode(&template, media);
    let articles: Vec<uuid::Uuid> = outcome.counts.iter().map(|count| count.article).collect();
    let slots = responses::count_slots(&encoded.body, &articles)?;
    Some((bytes::Bytes::from(encoded.body), slots))
}

/// A kept template's body with the current view counts written in, and its
/// entity tag: the last one made while the counts are the same; `None`
/// when an article in it is no longer public or the counts cannot be read.
pub(super) async fn with_current_counts(
    state: &AppState,
    kept: &responses::KeptResponse,
) -> Option<responses::Filled> {
    let mut articles: Vec<uuid::Uuid> = kept.counts.iter().map(|slot| slot.article).collect();
    articles.sort_unstable();
    articles.dedup();
    let totals = state
        .views
        .totals(&articles, crate::content::now())
        .await
        .ok()?;
    let now: Vec<i64> = kept
        .counts
        .iter()
        .map(|slot| totals.get(&slot.article).copied())
        .collect::<Option<_>>()?;
    if let Ok(last) = kept.filled.lock()
        && let Some(last) = last.as_ref()
        && last.totals == now
    {
        return Some(last.clone());
    }
    let body = responses::fill_counts(&kept.body, &kept.counts, &totals)?;
    let filled = responses::Filled {
        totals: now,
        tag: super::caching::etag(&body),
        body: body.into(),
    };
    if let Ok(mut last) = kept.filled.lock() {
        *last = Some(filled.clone());
    }
    Some(filled)
}
