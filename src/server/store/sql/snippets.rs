//! The product's side of the store ([`SnippetStore`]): snippets, their
//! revisions and files, as pages, lists and the API read and change them.
//!
//! Deleting leaves a tombstone, so a page that is gone can say why
//! (deleted, expired, burned) instead of "not found". Writing the
//! tombstone first is also what makes deletes and burns race-free: of two
//! at once, exactly one inserts it. Saving a revision is race-free the
//! same way: it starts by moving the snippet's latest revision from the
//! one its author saw to the next, and of two saves over the same base
//! only one finds it there.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::{
    Dialect, LATEST, STATE_COLUMNS, SUMMARY_COLUMNS, SqlStore, checked, during, placeholders,
};
use crate::{
    domain::{
        FileMeta, GoneReason, RevisionInfo, SnippetId, SnippetSummary, SnippetView, StateChanged,
    },
    server::{
        owner::OwnerHash,
        store::{
            NewRevision, NewSnippet, Saved, SnippetStore, StoreError, StoredSnippet, from_millis,
            millis,
        },
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
            let _turn = self.write_turn().await;
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "INSERT INTO snippets (id, created_at, expires_at, owner_hash, visibility,
                                       burn_after_reading, revision, first_revision, forked_from)
                 VALUES ($1, $2, $3, $4, $5, $6, 1, 1, $7)",
            )
            .bind(new.id.as_str())
            .bind(millis(new.created_at))
            .bind(new.expires_at.map(millis))
            .bind(new.owner.as_ref().map(|o| o.as_str()))
            .bind(new.visibility.as_str())
            .bind(new.burn_after_reading)
            .bind(new.forked_from.as_ref().map(SnippetId::as_str))
            .execute(&mut *tx)
            .await?;
            Self::insert_revision(
                &mut tx,
                &new.id,
                1,
                &new.files,
                0,
                0,
                new.max_attempts,
                new.created_at,
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn snippet(&self, id: &SnippetId) -> Result<Option<StoredSnippet>, StoreError> {
        during("reading a snippet", async {
            let mut connection = self.pool.acquire().await?;
            Self::read_view(&mut *connection, id, None).await
        })
        .await
    }

    async fn snippet_revision(
        &self,
        id: &SnippetId,
        revision: u32,
    ) -> Result<Option<StoredSnippet>, StoreError> {
        during("reading a revision", async {
            let mut connection = self.pool.acquire().await?;
            Self::read_view(&mut *connection, id, Some(revision)).await
        })
        .await
    }

    async fn revisions(&self, id: &SnippetId) -> Result<Vec<RevisionInfo>, StoreError> {
        during("listing revisions", async {
            let rows = sqlx::query(
                "SELECT r.number, r.created_at, r.lines_added, r.lines_removed,
                        f.name, f.named, f.language, f.hash, b.bytes, b.lines
                 FROM revisions r
                 JOIN files f ON f.snippet_id = r.snippet_id AND f.revision = r.number
                 JOIN blobs b ON b.hash = f.hash
                 WHERE r.snippet_id = $1
                 ORDER BY r.number, f.position",
            )
            .bind(id.as_str())
            .fetch_all(&self.pool)
            .await?;
            let mut revisions: Vec<RevisionInfo> = Vec::new();
            for row in &rows {
                let number: u32 = checked(row.try_get("number")?, "revision")?;
                if revisions.last().is_none_or(|r| r.number != number) {
                    revisions.push(RevisionInfo {
                        number,
                        created_at: from_millis(row.try_get("created_at")?)?,
                        lines_added: checked(row.try_get("lines_added")?, "lines added")?,
                        lines_removed: checked(row.try_get("lines_removed")?, "lines removed")?,
                        files: Vec::new(),
                        changed: Vec::new(),
                    });
                }
                let revision = revisions.last_mut().expect("pushed above");
                revision.files.push(FileMeta {
                    name: row.try_get("name")?,
                    named: row.try_get("named")?,
                    language: row.try_get("language")?,
                    bytes: checked(row.try_get("bytes")?, "bytes")?,
                    lines: checked(row.try_get("lines")?, "lines")?,
                    hash: row.try_get("hash")?,
                });
            }
            Ok(revisions)
        })
        .await
    }

    async fn save_revision(&self, new: &NewRevision) -> Result<Saved, StoreError> {
        during("saving a revision", async {
            let _turn = self.write_turn().await;
            let mut tx = self.pool.begin().await?;
            // The claim on the next number, and the check that nobody saved
            // since the author's base: one write, first.
            let moved = sqlx::query(
                "UPDATE snippets SET revision = revision + 1 WHERE id = $1 AND revision = $2",
            )
            .bind(new.id.as_str())
            .bind(i64::from(new.base))
            .execute(&mut *tx)
            .await?;
            if D::rows_affected(&moved) != 1 {
                let latest = sqlx::query("SELECT revision FROM snippets WHERE id = $1")
                    .bind(new.id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.rollback().await?;
                return Ok(match latest {
                    Some(row) => Saved::Stale {
                        latest: checked(row.try_get("revision")?, "revision")?,
                    },
                    None => Saved::Missing,
                });
            }
            let number = new.base + 1;
            Self::insert_revision(
                &mut tx,
                &new.id,
                number,
                &new.files,
                new.lines_added,
                new.lines_removed,
                new.max_attempts,
                new.now,
            )
            .await?;
            // The oldest beyond `keep` go, with their files and jobs, and
            // the code only they held.
            let keep_from = i64::from(number) - i64::from(new.keep.max(1)) + 1;
            if keep_from > 1 {
                let hashes: Vec<String> = sqlx::query(
                    "SELECT DISTINCT hash FROM files WHERE snippet_id = $1 AND revision < $2",
                )
                .bind(new.id.as_str())
                .bind(keep_from)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|row| row.try_get("hash"))
                .collect::<Result<_, _>>()?;
                sqlx::query("DELETE FROM revisions WHERE snippet_id = $1 AND number < $2")
                    .bind(new.id.as_str())
                    .bind(keep_from)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE snippets SET first_revision = $2 WHERE id = $1")
                    .bind(new.id.as_str())
                    .bind(keep_from)
                    .execute(&mut *tx)
                    .await?;
                Self::drop_orphan_blobs(&mut tx, &hashes).await?;
            }
            tx.commit().await?;
            Ok(Saved::As(number))
        })
        .await
    }

    async fn forks(
        &self,
        id: &SnippetId,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<SnippetSummary>, StoreError> {
        during("listing forks", async {
            let sql = format!(
                "{SUMMARY_COLUMNS} {LATEST}
                 WHERE s.forked_from = $1 AND s.visibility = 'public'
                   AND (s.expires_at IS NULL OR s.expires_at > $3)
                   AND s.burn_after_reading = $4
                 ORDER BY s.created_at DESC, s.id DESC
                 LIMIT $2"
            );
            let rows = sqlx::query(&sql)
                .bind(id.as_str())
                .bind(i64::from(limit))
                .bind(millis(now))
                .bind(false)
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(Self::summary_from_row).collect()
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
                "{SUMMARY_COLUMNS} {LATEST}
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
                "{SUMMARY_COLUMNS} {LATEST}
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
                "{STATE_COLUMNS} {LATEST}
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
            let _turn = self.write_turn().await;
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
            Self::delete_in(&mut tx, std::slice::from_ref(id)).await?;
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
            let _turn = self.write_turn().await;
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
            let stored = Self::read_view(&mut *tx, id, None)
                .await?
                .ok_or_else(|| StoreError::corrupt("a claimed snippet without a revision"))?;
            Self::delete_in(&mut tx, std::slice::from_ref(id)).await?;
            tx.commit().await?;
            Ok(Some(stored.view))
        })
        .await
    }

    async fn change_language(
        &self,
        id: &SnippetId,
        position: Option<u32>,
        language: &str,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        during("changing a file's language", async {
            let _turn = self.write_turn().await;
            let mut tx = self.pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE files SET language = $1
                 WHERE snippet_id = $2
                   AND revision = (SELECT revision FROM snippets WHERE id = $2)
                   AND ($3 < 0 OR position = $3)",
            )
            .bind(language)
            .bind(id.as_str())
            .bind(position.map_or(-1, i64::from))
            .execute(&mut *tx)
            .await?;
            if D::rows_affected(&changed) == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            // The revision shows no result until its job has run again.
            let revision = sqlx::query(
                "UPDATE revisions
                 SET engine = NULL, highlighted_at = NULL, highlighted_in_ms = NULL, error = NULL,
                     first_language = (SELECT language FROM files f
                                       WHERE f.snippet_id = revisions.snippet_id
                                         AND f.revision = revisions.number AND f.position = 0)
                 WHERE snippet_id = $1 AND number = (SELECT revision FROM snippets WHERE id = $1)
                 RETURNING number",
            )
            .bind(id.as_str())
            .fetch_one(&mut *tx)
            .await?;
            let number = checked(revision.try_get("number")?, "revision")?;
            Self::requeue_in(tx, true, id, number, max_attempts, now).await
        })
        .await
    }

    async fn requeue_failed(
        &self,
        id: &SnippetId,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        during("queueing a failed revision again", async {
            let _turn = self.write_turn().await;
            let mut tx = self.pool.begin().await?;
            // A revision is failed for good when it has an error and no
            // result; clearing the error is the claim that this request
            // requeues it.
            let cleared = sqlx::query(
                "UPDATE revisions SET error = NULL
                 WHERE snippet_id = $1 AND number = (SELECT revision FROM snippets WHERE id = $1)
                   AND engine IS NULL AND error IS NOT NULL
                 RETURNING number",
            )
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = cleared else {
                tx.rollback().await?;
                return Ok(false);
            };
            let number = checked(row.try_get("number")?, "revision")?;
            Self::requeue_in(tx, true, id, number, max_attempts, now).await
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
