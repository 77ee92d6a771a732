//! The product's side of the store ([`SnippetStore`]): snippets as pages,
//! lists and the API read and change them.
//!
//! Deleting leaves a tombstone, so a page that is gone can say why
//! (deleted, expired, burned) instead of "not found". Writing the
//! tombstone first is also what makes deletes and burns race-free: of two
//! at once, exactly one inserts it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::{Dialect, STATE_SELECT, SUMMARY_SELECT, SqlStore, VIEW_SELECT, during, placeholders};
use crate::{
    domain::{GoneReason, SnippetId, SnippetSummary, SnippetView, StateChanged},
    server::{
        owner::OwnerHash,
        store::{NewSnippet, SnippetStore, StoreError, StoredSnippet, millis},
    },
};

#[async_trait]
impl<D> SnippetStore for SqlStore<D>
where
    D: Dialect,
    for<'c> &'c mut D::Connection: Executor<'c, Database = D>,
    for<'q> D::Arguments<'q>: IntoArguments<'q, D>,
    for<'q> &'q str: Encode<'q, D> + Type<D> + ColumnIndex<D::Row>,
    for<'q> String: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> i64: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> bool: Encode<'q, D> + Decode<'q, D> + Type<D>,
    for<'q> Option<&'q str>: Encode<'q, D>,
    for<'q> Option<i64>: Encode<'q, D>,
{
    async fn create_snippet(&self, new: &NewSnippet) -> Result<(), StoreError> {
        during("storing a snippet", async {
            let now = millis(new.created_at);
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "INSERT INTO snippets (id, code, language, filename, line_count, created_at, expires_at,
                                       owner_hash, visibility, burn_after_reading, preview)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(new.id.as_str())
            .bind(new.code.as_str())
            .bind(new.language.as_str())
            .bind(new.filename.as_ref().map(|f| f.as_str()))
            .bind(i64::from(new.code.line_count()))
            .bind(now)
            .bind(new.expires_at.map(millis))
            .bind(new.owner.as_ref().map(|o| o.as_str()))
            .bind(new.visibility.as_str())
            .bind(new.burn_after_reading)
            .bind(new.code.preview())
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO jobs (snippet_id, state, max_attempts, run_at, created_at, updated_at, enqueued_at)
                 VALUES ($1, 'queued', $2, $3, $3, $3, $3)",
            )
            .bind(new.id.as_str())
            .bind(i64::from(new.max_attempts))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn snippet(&self, id: &SnippetId) -> Result<Option<StoredSnippet>, StoreError> {
        during("reading a snippet", async {
            let sql = format!("{VIEW_SELECT} WHERE s.id = $1");
            let row = sqlx::query(&sql)
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
            row.as_ref().map(Self::stored_from_row).transpose()
        })
        .await
    }

    async fn recent_snippets(
        &self,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<SnippetSummary>, StoreError> {
        during("listing recent snippets", async {
            let sql = format!(
                "{SUMMARY_SELECT}
                 WHERE s.visibility = 'public' AND (s.expires_at IS NULL OR s.expires_at > $1)
                   AND s.burn_after_reading = $3
                 ORDER BY s.created_at DESC, s.id DESC
                 LIMIT $2"
            );
            // Never a burn-after-reading snippet (submits refuse listing
            // one, and a migration unlisted the older rows): a row shows
            // the code's first line.
            let rows = sqlx::query(&sql)
                .bind(millis(now))
                .bind(i64::from(limit))
                .bind(false)
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(Self::summary_from_row).collect()
        })
        .await
    }

    async fn owner_snippets(
        &self,
        owner: &OwnerHash,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<SnippetSummary>, StoreError> {
        during("listing an owner's snippets", async {
            let sql = format!(
                "{SUMMARY_SELECT}
                 WHERE s.owner_hash = $1 AND (s.expires_at IS NULL OR s.expires_at > $2)
                 ORDER BY s.created_at DESC, s.id DESC
                 LIMIT $3"
            );
            let rows = sqlx::query(&sql)
                .bind(owner.as_str())
                .bind(millis(now))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(Self::summary_from_row).collect()
        })
        .await
    }

    async fn list_states(
        &self,
        ids: &[SnippetId],
        now: DateTime<Utc>,
    ) -> Result<Vec<(SnippetId, StateChanged)>, StoreError> {
        during("reading a list's states", async {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!(
                "{STATE_SELECT}
                 WHERE (s.expires_at IS NULL OR s.expires_at > $1) AND s.id IN ({})",
                placeholders(2, ids.len())
            );
            let query = ids
                .iter()
                .fold(sqlx::query(&sql).bind(millis(now)), |query, id| {
                    query.bind(id.as_str())
                });
            let rows = query.fetch_all(&self.pool).await?;
            rows.iter().map(Self::state_from_row).collect()
        })
        .await
    }

    async fn gone_reason(&self, id: &SnippetId) -> Result<Option<GoneReason>, StoreError> {
        during("reading a tombstone", async {
            let row = sqlx::query("SELECT reason FROM tombstones WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
            row.map(|row| {
                let raw: String = row.try_get("reason")?;
                GoneReason::parse(&raw)
                    .ok_or_else(|| StoreError::corrupt(format!("tombstone reason {raw}")))
            })
            .transpose()
        })
        .await
    }

    async fn gone_reasons(
        &self,
        ids: &[SnippetId],
    ) -> Result<Vec<(SnippetId, GoneReason)>, StoreError> {
        during("reading tombstones", async {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!(
                "SELECT id, reason FROM tombstones WHERE id IN ({})",
                placeholders(1, ids.len())
            );
            let query = ids
                .iter()
                .fold(sqlx::query(&sql), |query, id| query.bind(id.as_str()));
            let rows = query.fetch_all(&self.pool).await?;
            rows.iter()
                .map(|row| {
                    let id = super::parse_id(&row.try_get::<String, _>("id")?)?;
                    let raw: String = row.try_get("reason")?;
                    let reason = GoneReason::parse(&raw)
                        .ok_or_else(|| StoreError::corrupt(format!("tombstone reason {raw}")))?;
                    Ok((id, reason))
                })
                .collect()
        })
        .await
    }

    async fn delete_snippet(
        &self,
        id: &SnippetId,
        reason: GoneReason,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        during("deleting a snippet", async {
            let mut tx = self.pool.begin().await?;
            // The tombstone first: a write, so SQLite takes its write lock
            // at once, and the claim on the id (a second delete, or a burn,
            // finds it taken).
            let claimed = sqlx::query(
                "INSERT INTO tombstones (id, gone_at, reason)
                 SELECT id, $2, $3 FROM snippets WHERE id = $1
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id.as_str())
            .bind(millis(now))
            .bind(reason.as_str())
            .execute(&mut *tx)
            .await?;
            if D::rows_affected(&claimed) != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("DELETE FROM snippets WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    async fn take_snippet(
        &self,
        id: &SnippetId,
        now: DateTime<Utc>,
    ) -> Result<Option<SnippetView>, StoreError> {
        during("burning a snippet", async {
            let mut tx = self.pool.begin().await?;
            // Writing the tombstone is the claim: of two readers at once,
            // exactly one inserts it (the other finds the id taken and gets
            // nothing), and only a burn-after-reading snippet can be taken.
            let claimed = sqlx::query(
                "INSERT INTO tombstones (id, gone_at, reason)
                 SELECT id, $2, 'burned' FROM snippets WHERE id = $1 AND burn_after_reading = $3
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id.as_str())
            .bind(millis(now))
            .bind(true)
            .execute(&mut *tx)
            .await?;
            if D::rows_affected(&claimed) != 1 {
                tx.rollback().await?;
                return Ok(None);
            }
            let sql = format!("{VIEW_SELECT} WHERE s.id = $1");
            let row = sqlx::query(&sql)
                .bind(id.as_str())
                .fetch_one(&mut *tx)
                .await?;
            let view = Self::view_from_row(&row)?;
            sqlx::query("DELETE FROM snippets WHERE id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(view))
        })
        .await
    }

    async fn change_language(
        &self,
        id: &SnippetId,
        language: &str,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        during("changing a snippet's language", async {
            let mut tx = self.pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE snippets
                 SET language = $1, html = NULL, highlighted_at = NULL, highlighted_in_ms = NULL,
                     error = NULL
                 WHERE id = $2",
            )
            .bind(language)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
            Self::requeue_in(tx, D::rows_affected(&changed) == 1, id, max_attempts, now).await
        })
        .await
    }

    async fn requeue_failed(
        &self,
        id: &SnippetId,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        during("queueing a failed snippet again", async {
            let mut tx = self.pool.begin().await?;
            // A snippet is failed for good when it has an error and no HTML;
            // clearing the error is the claim that this request requeues it.
            let cleared = sqlx::query(
                "UPDATE snippets SET error = NULL
                 WHERE id = $1 AND html IS NULL AND error IS NOT NULL",
            )
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
            Self::requeue_in(tx, D::rows_affected(&cleared) == 1, id, max_attempts, now).await
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        during("checking the database", async {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        })
        .await
    }
}
