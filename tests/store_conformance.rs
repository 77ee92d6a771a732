//! One conformance suite for every storage driver (as River runs one
//! driver suite on every driver): each test takes a fresh, empty store.
//! The few that check what is stored underneath (which code is still
//! kept, which rows went) also get the database itself ([`Raw`]).

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use highlighter::{
    domain::{
        FileView, ForkOrigin, GoneReason, JobState, Progress, SnippetId, SnippetSummary,
        SnippetView, Visibility,
    },
    server::{
        owner::OwnerSecret,
        store::{
            ClaimedJob, Completed, DynStore, FileResult, JobFile, Lease, NewFile, NewRevision,
            NewSnippet, PgStore, Rescued, Saved, SnippetStore, SqliteStore, content_hash,
        },
    },
};

/// The engine version every test highlights with, unless it says.
const ENGINE: &str = "conformance/1";

/// A named Rust file.
fn file(name: &str, code: &str) -> NewFile {
    NewFile::new(name.to_owned(), true, "Rust".to_owned(), code.to_owned())
}

/// A public snippet of one file, `main.rs`.
fn new_snippet(code: &str, at: DateTime<Utc>) -> NewSnippet {
    NewSnippet {
        id: SnippetId::random(),
        files: vec![file("main.rs", code)],
        max_attempts: 3,
        created_at: at,
        expires_at: None,
        owner: Some(OwnerSecret::random().hash()),
        visibility: Visibility::Public,
        burn_after_reading: false,
        forked_from: None,
    }
}

/// A revision of `id` saved over `base` at `at`, keeping `keep`.
fn new_revision(
    id: &SnippetId,
    base: u32,
    files: Vec<NewFile>,
    at: DateTime<Utc>,
    keep: u32,
) -> NewRevision {
    NewRevision {
        id: id.clone(),
        base,
        files,
        lines_added: 0,
        lines_removed: 0,
        max_attempts: 3,
        now: at,
        keep,
    }
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// Claims up to `limit` due jobs for `worker` at `at`, leased for 30 s.
async fn claim(store: &DynStore, worker: &str, limit: u32, at: DateTime<Utc>) -> Vec<ClaimedJob> {
    store
        .claim_jobs(worker, limit, at, at + secs(30), ENGINE)
        .await
        .unwrap()
}

/// Claims the one due job for `worker` at `at`, leased for 30 s.
async fn claim_one(store: &DynStore, worker: &str, at: DateTime<Utc>) -> ClaimedJob {
    let mut claimed = claim(store, worker, 1, at).await;
    assert_eq!(claimed.len(), 1, "one job is due");
    claimed.remove(0)
}

/// A result for each file of a job that needs highlighting (those without
/// a stored result), each `html`.
fn results<'a>(files: &'a [JobFile], html: &'a str, took_ms: u64) -> Vec<FileResult<'a>> {
    files
        .iter()
        .filter(|f| f.code.is_some())
        .map(|f| FileResult {
            hash: &f.hash,
            language: &f.language,
            html,
            rendered: None,
            highlighted_in_ms: took_ms,
        })
        .collect()
}

/// Completes `job` as its worker would: `html` for every file it had to
/// highlight. Whether the result was stored.
async fn complete(
    store: &DynStore,
    job: &ClaimedJob,
    html: &str,
    took_ms: u64,
    at: DateTime<Utc>,
) -> bool {
    let files = results(&job.files, html, took_ms);
    store
        .complete_job(&job.lease, &files, ENGINE, took_ms, at)
        .await
        .unwrap()
}

/// The one file of a one-file revision.
fn only_file(view: &SnippetView) -> &FileView {
    assert_eq!(view.files.len(), 1, "{:?}", view.files);
    &view.files[0]
}

async fn view_of(store: &DynStore, id: &SnippetId) -> SnippetView {
    store
        .snippet(id)
        .await
        .unwrap()
        .expect("the snippet is there")
        .view
}

fn ids(list: &[SnippetSummary]) -> Vec<SnippetId> {
    list.iter().map(|s| s.id.clone()).collect()
}

fn numbers(revisions: &[highlighter::domain::RevisionInfo]) -> Vec<u32> {
    revisions.iter().map(|r| r.number).collect()
}

/// The database under a store, for what no store method reads: which
/// rows and which code are still there.
#[derive(Clone)]
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    /// `sql` (a `SELECT COUNT(*)`) with `binds` as `$1...`.
    async fn count(&self, sql: &str, binds: &[&str]) -> i64 {
        match self {
            Raw::Sqlite(pool) => binds
                .iter()
                .fold(sqlx::query_scalar::<_, i64>(sql), |q, b| q.bind(*b))
                .fetch_one(pool)
                .await
                .unwrap(),
            Raw::Postgres(pool) => binds
                .iter()
                .fold(sqlx::query_scalar::<_, i64>(sql), |q, b| q.bind(*b))
                .fetch_one(pool)
                .await
                .unwrap(),
        }
    }

    /// Rows of `table` (with a `snippet_id` column) that belong to `id`.
    async fn rows_of(&self, table: &str, id: &SnippetId) -> i64 {
        self.count(
            &format!("SELECT COUNT(*) FROM {table} WHERE snippet_id = $1"),
            &[id.as_str()],
        )
        .await
    }

    /// Whether `code` is stored (0 or 1: one blob per content).
    async fn blobs_of(&self, code: &str) -> i64 {
        self.count(
            "SELECT COUNT(*) FROM blobs WHERE hash = $1",
            &[&content_hash(code)],
        )
        .await
    }

    /// Stored results for `code`, in any language and engine.
    async fn highlights_of(&self, code: &str) -> i64 {
        self.count(
            "SELECT COUNT(*) FROM highlights WHERE hash = $1",
            &[&content_hash(code)],
        )
        .await
    }
}

async fn create_and_read_back(store: DynStore) {
    let now = Utc::now();
    let new = new_snippet("fn main() {}\n", now);
    store.create_snippet(&new).await.unwrap();
    let view = view_of(&store, &new.id).await;
    let file = only_file(&view);
    assert_eq!(file.code, "fn main() {}\n");
    assert_eq!(file.language, "Rust");
    assert_eq!(file.name, "main.rs");
    assert!(file.named);
    assert_eq!(file.hash, content_hash("fn main() {}\n"));
    assert_eq!(file.bytes, 13);
    assert_eq!(file.lines, 1);
    assert!(file.html.is_none());
    assert_eq!(
        (view.revision, view.latest_revision, view.first_revision),
        (1, 1, 1)
    );
    assert_eq!(view.forked_from, None);
    assert_eq!(view.state, JobState::Queued);
    assert_eq!(view.attempts, 0);
    assert_eq!(view.max_attempts, 3);
    assert_eq!(view.created_at.timestamp_millis(), now.timestamp_millis());
    assert_eq!(view.revised_at.timestamp_millis(), now.timestamp_millis());
    assert!(store.snippet(&SnippetId::random()).await.unwrap().is_none());
}

async fn recent_lists_newest_first(store: DynStore) {
    let t0 = Utc::now();
    let mut ids = Vec::new();
    for i in 0..5 {
        let new = new_snippet(&format!("\n\nline {i}\nmore"), t0 + secs(i));
        store.create_snippet(&new).await.unwrap();
        ids.push(new.id);
    }
    let recent = store.recent_snippets(3, t0 + secs(10)).await.unwrap();
    assert_eq!(
        self::ids(&recent),
        vec![ids[4].clone(), ids[3].clone(), ids[2].clone()]
    );
    assert_eq!(recent[0].preview, "line 4");
    assert_eq!(recent[0].lines, 4);
    assert_eq!(recent[0].files, 1);
    assert_eq!(recent[0].filename.as_deref(), Some("main.rs"));
    assert_eq!(recent[0].language, "Rust");
    assert_eq!(recent[0].state, JobState::Queued);
}

async fn claims_respect_the_limit_and_never_hand_out_a_job_twice(store: DynStore) {
    let now = Utc::now();
    for i in 0..5 {
        store
            .create_snippet(&new_snippet(&format!("{i}"), now))
            .await
            .unwrap();
    }
    let later = now + secs(1);
    let a = claim(&store, "a", 2, later).await;
    assert_eq!(a.len(), 2);
    let b = claim(&store, "b", 10, later).await;
    assert_eq!(b.len(), 3);
    assert!(claim(&store, "c", 10, later).await.is_empty());
    let mut all: Vec<_> = a
        .iter()
        .chain(&b)
        .map(|j| j.lease.snippet_id.clone())
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 5, "five different jobs");
    assert!(
        a.iter()
            .all(|j| j.lease.attempt == 1 && j.lease.worker == "a" && j.lease.revision == 1)
    );
    let view = view_of(&store, &a[0].lease.snippet_id).await;
    assert_eq!(view.state, JobState::Processing);
    assert_eq!(view.attempts, 1);
    // What a worker needs comes with the claim: each file's code.
    assert_eq!(a[0].files.len(), 1);
    assert_eq!(a[0].files[0].code.as_deref().map(str::len), Some(1));
}

async fn concurrent_claims_split_the_queue(store: DynStore) {
    let now = Utc::now();
    for i in 0..40 {
        store
            .create_snippet(&new_snippet(&format!("{i}"), now))
            .await
            .unwrap();
    }
    let later = now + secs(1);
    let mut handles = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let jobs = claim(&store, &format!("w{w}"), 3, later).await;
                if jobs.is_empty() {
                    return mine;
                }
                mine.extend(jobs.into_iter().map(|j| j.lease.snippet_id));
            }
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(total, 40, "every job claimed");
    assert_eq!(all.len(), 40, "no job claimed twice");
}

async fn completion_is_fenced_by_the_lease(store: DynStore) {
    let now = Utc::now();
    let new = new_snippet("x", now);
    store.create_snippet(&new).await.unwrap();
    let first = claim_one(&store, "w1", now).await;
    // w1 stalls; its lease expires and the rescuer requeues the job.
    let rescued = store.rescue_expired(now + secs(31)).await.unwrap();
    assert_eq!(rescued, vec![Rescued::Requeued(new.id.clone(), 1)]);
    let t = now + secs(32);
    let second = claim_one(&store, "w2", t).await;
    assert_eq!(second.lease.attempt, 2);
    let (first, stale_files) = (&first.lease, &first.files);
    // The stale worker can neither renew, report, fail nor complete.
    assert!(!store.renew_lease(first, t, t + secs(30)).await.unwrap());
    assert!(
        !store
            .save_progress(first, Progress { done: 1, total: 1 })
            .await
            .unwrap()
    );
    assert!(
        !store
            .complete_job(first, &results(stale_files, "<stale/>", 1), ENGINE, 1, t)
            .await
            .unwrap()
    );
    assert!(!store.fail_job(first, "stale", t).await.unwrap());
    assert!(!store.retry_job(first, "stale", t, t).await.unwrap());
    assert!(!store.release_job(first, t).await.unwrap());
    // The holder can.
    assert!(
        store
            .renew_lease(&second.lease, t, t + secs(30))
            .await
            .unwrap()
    );
    assert!(
        store
            .save_progress(&second.lease, Progress { done: 1, total: 1 })
            .await
            .unwrap()
    );
    assert_eq!(
        view_of(&store, &new.id).await.progress,
        Some(Progress { done: 1, total: 1 })
    );
    assert!(complete(&store, &second, "<fresh/>", 5, t + secs(2)).await);
    let view = view_of(&store, &new.id).await;
    assert_eq!(view.state, JobState::Succeeded);
    assert_eq!(only_file(&view).html.as_deref(), Some("<fresh/>"));
    assert_eq!(view.highlighted_in_ms, Some(5));
    assert!(view.progress.is_none());
    // And completing twice is refused too.
    assert!(!complete(&store, &second, "<again/>", 5, t).await);
    // The history: w1's attempt abandoned, w2's succeeded, from its claim
    // to its completion.
    let history = store.attempts(&new.id).await.unwrap();
    let seen: Vec<_> = history
        .iter()
        .map(|a| (a.revision, a.attempt, a.holder.as_str(), a.outcome.as_str()))
        .collect();
    assert_eq!(seen, [(1, 1, "w1", "abandoned"), (1, 2, "w2", "succeeded")]);
    assert_eq!(history[1].duration_ms, 2000);
    assert_eq!(history[1].error, None);
}

/// Two batches written at once (two nodes' completers) that share
/// results, taken in opposite orders: both land.
async fn batches_written_side_by_side_share_their_results(store: DynStore) {
    let now = Utc::now();
    for code in ["fn a() {}\n", "fn b() {}\n", "fn b() {}\n", "fn a() {}\n"] {
        store.create_snippet(&new_snippet(code, now)).await.unwrap();
    }
    let claimed = claim(&store, "w", 4, now).await;
    assert_eq!(claimed.len(), 4);
    let files: Vec<_> = claimed
        .iter()
        .map(|job| results(&job.files, "<shared/>", 1))
        .collect();
    assert!(
        files.iter().all(|f| f.len() == 1),
        "every job has its code to highlight"
    );
    let done: Vec<Completed<'_>> = claimed
        .iter()
        .zip(&files)
        .map(|(job, files)| Completed {
            lease: &job.lease,
            files,
            engine: ENGINE,
            highlighted_in_ms: 1,
            notice: None,
        })
        .collect();
    let (first, second) = done.split_at(2);
    let (first, second) = tokio::join!(
        store.complete_jobs(first, now),
        store.complete_jobs(second, now)
    );
    assert_eq!(first.unwrap(), [true, true]);
    assert_eq!(second.unwrap(), [true, true]);
    for job in &claimed {
        let view = view_of(&store, &job.lease.snippet_id).await;
        assert_eq!(view.state, JobState::Succeeded);
        assert_eq!(only_file(&view).html.as_deref(), Some("<shared/>"));
    }
}

async fn a_batch_of_completions_is_fenced_job_by_job(store: DynStore) {
    let now = Utc::now();
    for i in 0..3 {
        let new = new_snippet(&format!("fn f{i}() {{}}\n"), now);
        store.create_snippet(&new).await.unwrap();
    }
    let claimed = claim(&store, "w", 3, now).await;
    assert_eq!(claimed.len(), 3);
    // What a worker needs comes with the claim.
    assert!(claimed.iter().all(|j| {
        j.files.len() == 1
            && j.files[0]
                .code
                .as_deref()
                .is_some_and(|code| code.starts_with("fn f"))
            && j.files[0].language == "Rust"
    }));
    // The middle job's lease is stale: it was taken over after expiring.
    let stale = Lease {
        attempt: 99,
        ..claimed[1].lease.clone()
    };
    let files = [
        results(&claimed[0].files, "<a/>", 1),
        results(&claimed[1].files, "<stale/>", 2),
        results(&claimed[2].files, "<c/>", 3),
    ];
    let done = [
        Completed {
            lease: &claimed[0].lease,
            files: &files[0],
            engine: ENGINE,
            highlighted_in_ms: 1,
            notice: None,
        },
        Completed {
            lease: &stale,
            files: &files[1],
            engine: ENGINE,
            highlighted_in_ms: 2,
            notice: None,
        },
        Completed {
            lease: &claimed[2].lease,
            files: &files[2],
            engine: ENGINE,
            highlighted_in_ms: 3,
            notice: None,
        },
    ];
    assert_eq!(
        store.complete_jobs(&done, now).await.unwrap(),
        vec![true, false, true]
    );
    for ((job, html), took_ms) in
        claimed
            .iter()
            .zip([Some("<a/>"), None, Some("<c/>")])
            .zip([Some(1), None, Some(3)])
    {
        let view = view_of(&store, &job.lease.snippet_id).await;
        assert_eq!(only_file(&view).html.as_deref(), html);
        assert_eq!(view.highlighted_in_ms, took_ms);
        let state = if html.is_some() {
            JobState::Succeeded
        } else {
            JobState::Processing
        };
        assert_eq!(view.state, state);
    }
    assert_eq!(store.unfinished_jobs().await.unwrap(), 1);
}

async fn retries_wait_for_their_time(store: DynStore) {
    let now = Utc::now();
    let new = new_snippet("x", now);
    store.create_snippet(&new).await.unwrap();
    let lease = claim_one(&store, "w", now).await.lease;
    let run_at = now + secs(10);
    assert!(store.retry_job(&lease, "down", run_at, now).await.unwrap());
    let view = view_of(&store, &new.id).await;
    assert_eq!(view.state, JobState::Retrying);
    assert_eq!(view.error.as_deref(), Some("down"));
    assert_eq!(
        view.next_attempt_at.unwrap().timestamp_millis(),
        run_at.timestamp_millis()
    );
    assert!(claim(&store, "w", 1, now + secs(9)).await.is_empty());
    let again = claim(&store, "w", 1, now + secs(10)).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].lease.attempt, 2);
}

async fn failure_is_final_until_requeued(store: DynStore) {
    let now = Utc::now();
    let new = new_snippet("x", now);
    store.create_snippet(&new).await.unwrap();
    // Not failed: nothing to requeue.
    assert!(!store.requeue_failed(&new.id, 3, now).await.unwrap());
    let lease = claim_one(&store, "w", now).await.lease;
    assert!(store.fail_job(&lease, "bad input", now).await.unwrap());
    let view = view_of(&store, &new.id).await;
    assert_eq!(view.state, JobState::Failed);
    assert_eq!(view.error.as_deref(), Some("bad input"));
    assert!(claim(&store, "w", 1, now + secs(100)).await.is_empty());
    assert!(store.requeue_failed(&new.id, 3, now).await.unwrap());
    let view = view_of(&store, &new.id).await;
    assert_eq!(view.state, JobState::Queued);
    assert_eq!(view.attempts, 0);
    assert!(view.error.is_none());
    assert_eq!(claim(&store, "w", 1, now).await.len(), 1);
}

async fn release_gives_the_attempt_back(store: DynStore) {
    let now = Utc::now();
    let new = new_snippet("x", now);
    store.create_snippet(&new).await.unwrap();
    let lease = claim_one(&store, "w", now).await.lease;
    assert!(store.release_job(&lease, now).await.unwrap());
    let view = view_of(&store, &new.id).await;
    assert_eq!(view.state, JobState::Queued);
    assert_eq!(view.attempts, 0);
    let again = claim_one(&store, "w", now).await;
    assert_eq!(again.lease.attempt, 1);
}

async fn rescue_fails_jobs_with_no_attempts_left(store: DynStore) {
    let now = Utc::now();
    let new = new_snippet("x", now);
    store.create_snippet(&new).await.unwrap();
    let mut t = now;
    for attempt in 1..=3 {
        let claimed = claim_one(&store, "w", t).await;
        assert_eq!(claimed.lease.attempt, attempt);
        t += secs(31);
        let rescued = store.rescue_expired(t).await.unwrap();
        if attempt < 3 {
            assert_eq!(rescued, vec![Rescued::Requeued(new.id.clone(), 1)]);
        } else {
            let [Rescued::Failed(id, failed)] = &rescued[..] else {
                panic!("{rescued:?}");
            };
            assert_eq!(id, &new.id);
            assert_eq!(failed.attempts, 3);
            assert_eq!(failed.revision, 1);
            assert!(failed.error.contains("stopped responding"), "{failed:?}");
        }
    }
    // The rescue told its pages what they now show.
    let view = view_of(&store, &new.id).await;
    assert_eq!(view.state, JobState::Failed);
    assert_eq!(view.attempts, 3);
    assert!(view.error.unwrap().contains("stopped responding"));
    // Leases that have not expired are left alone.
    let other = new_snippet("y", t);
    store.create_snippet(&other).await.unwrap();
    claim_one(&store, "w", t).await;
    assert!(store.rescue_expired(t + secs(29)).await.unwrap().is_empty());
}

async fn pruning_removes_old_job_records_but_keeps_outcomes(store: DynStore) {
    let now = Utc::now();
    let ok = new_snippet("ok", now);
    let bad = new_snippet("bad", now);
    let open = new_snippet("open", now);
    for s in [&ok, &bad, &open] {
        store.create_snippet(s).await.unwrap();
    }
    let mut claimed = claim(&store, "w", 2, now).await;
    assert_eq!(claimed.len(), 2);
    claimed.sort_by_key(|j| if j.lease.snippet_id == ok.id { 0 } else { 1 });
    // Whichever two were claimed: succeed one, fail the other.
    assert!(complete(&store, &claimed[0], "<ok/>", 1, now).await);
    assert!(
        store
            .fail_job(&claimed[1].lease, "nope", now)
            .await
            .unwrap()
    );
    let succeeded_id = claimed[0].lease.snippet_id.clone();
    let failed_id = claimed[1].lease.snippet_id.clone();

    // Nothing is old enough yet.
    assert_eq!(
        store
            .prune_finished_jobs(now - secs(1), now - secs(1))
            .await
            .unwrap(),
        0
    );
    // Succeeded records go after their (shorter) retention, failed later.
    assert_eq!(
        store
            .prune_finished_jobs(now + secs(1), now - secs(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .prune_finished_jobs(now + secs(1), now + secs(1))
            .await
            .unwrap(),
        1
    );
    // Queued and running jobs are never pruned.
    assert_eq!(
        store
            .prune_finished_jobs(now + secs(1000), now + secs(1000))
            .await
            .unwrap(),
        0
    );

    let s = view_of(&store, &succeeded_id).await;
    assert_eq!(s.state, JobState::Succeeded);
    assert_eq!(only_file(&s).html.as_deref(), Some("<ok/>"));
    let f = view_of(&store, &failed_id).await;
    assert_eq!(f.state, JobState::Failed);
    assert_eq!(f.error.as_deref(), Some("nope"));
    // A pruned failure can still be tried again.
    assert!(store.requeue_failed(&failed_id, 3, now).await.unwrap());
    assert_eq!(view_of(&store, &failed_id).await.state, JobState::Queued);
}

async fn expired_snippets_are_swept_and_remembered(store: DynStore) {
    let now = Utc::now();
    let mut short = new_snippet("short-lived", now);
    short.expires_at = Some(now + secs(60));
    let keep = new_snippet("forever", now);
    store.create_snippet(&short).await.unwrap();
    store.create_snippet(&keep).await.unwrap();
    assert!(
        store
            .sweep_expired(now + secs(59))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .recent_snippets(10, now + secs(59))
            .await
            .unwrap()
            .len(),
        2
    );
    // Past its time it leaves the list at once, and the sweeper deletes it.
    assert_eq!(
        store
            .recent_snippets(10, now + secs(61))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.sweep_expired(now + secs(61)).await.unwrap(),
        vec![short.id.clone()]
    );
    assert!(store.snippet(&short.id).await.unwrap().is_none());
    assert_eq!(
        store.gone_reason(&short.id).await.unwrap(),
        Some(GoneReason::Expired)
    );
    assert_eq!(store.gone_reason(&keep.id).await.unwrap(), None);
    assert!(store.snippet(&keep.id).await.unwrap().is_some());
    // Its job went with it: the one job left to claim is the kept one's.
    let claimed: Vec<SnippetId> = claim(&store, "w", 10, now + secs(61))
        .await
        .into_iter()
        .map(|j| j.lease.snippet_id)
        .collect();
    assert_eq!(claimed, vec![keep.id.clone()]);
}

async fn owners_and_visibility_decide_what_is_listed(store: DynStore) {
    let now = Utc::now();
    let alice = OwnerSecret::random().hash();
    let mut public = new_snippet("public\n", now);
    public.owner = Some(alice.clone());
    let mut unlisted = new_snippet("unlisted\n", now + secs(1));
    unlisted.owner = Some(alice.clone());
    unlisted.visibility = Visibility::Unlisted;
    let someone_elses = new_snippet("other\n", now + secs(2));
    for new in [&public, &unlisted, &someone_elses] {
        store.create_snippet(new).await.unwrap();
    }
    let recent = store.recent_snippets(10, now + secs(5)).await.unwrap();
    assert_eq!(
        ids(&recent),
        vec![someone_elses.id.clone(), public.id.clone()],
        "unlisted is never listed"
    );
    let mine = store
        .owner_snippets(&alice, 10, now + secs(5))
        .await
        .unwrap();
    assert_eq!(ids(&mine), vec![unlisted.id.clone(), public.id.clone()]);
    assert_eq!(mine[0].visibility, Visibility::Unlisted);
    assert_eq!(mine[0].preview, "unlisted");
    let stored = store.snippet(&public.id).await.unwrap().unwrap();
    assert_eq!(stored.owner, Some(alice));
    assert_eq!(stored.view.visibility, Visibility::Public);
    assert!(!stored.view.burn_after_reading);
}

async fn list_states_read_states_of_live_snippets_only(store: DynStore) {
    let now = Utc::now();
    let running = new_snippet("a\n", now);
    let mut expired = new_snippet("b\n", now);
    expired.expires_at = Some(now + secs(1));
    store.create_snippet(&running).await.unwrap();
    store.create_snippet(&expired).await.unwrap();
    // Whichever is claimed, the one that stays is the running one.
    let mut claimed = claim(&store, "w", 2, now).await;
    assert_eq!(claimed.len(), 2);
    claimed.retain(|j| j.lease.snippet_id == running.id);
    let [job] = &claimed[..] else {
        panic!("{claimed:?}")
    };
    assert!(
        store
            .save_progress(&job.lease, Progress { done: 1, total: 4 })
            .await
            .unwrap()
    );
    let unknown = SnippetId::random();
    let states = store
        .list_states(
            &[running.id.clone(), expired.id.clone(), unknown],
            now + secs(2),
        )
        .await
        .unwrap();
    assert_eq!(
        states.len(),
        1,
        "expired and unknown snippets have no state"
    );
    let (id, state) = &states[0];
    assert_eq!(id, &running.id);
    assert_eq!(state.state, JobState::Processing);
    assert_eq!(state.progress, Some(Progress { done: 1, total: 4 }));
    assert_eq!(state.attempts, 1);
    assert_eq!(state.revision, 1);
    assert!(store.list_states(&[], now).await.unwrap().is_empty());
}

async fn deletion_leaves_a_tombstone_with_its_reason(store: DynStore) {
    let now = Utc::now();
    let new = new_snippet("bye\n", now);
    store.create_snippet(&new).await.unwrap();
    assert!(
        store
            .delete_snippet(&new.id, GoneReason::Deleted, now)
            .await
            .unwrap()
    );
    assert!(store.snippet(&new.id).await.unwrap().is_none());
    assert_eq!(
        store.gone_reason(&new.id).await.unwrap(),
        Some(GoneReason::Deleted)
    );
    assert!(
        !store
            .delete_snippet(&new.id, GoneReason::Deleted, now)
            .await
            .unwrap(),
        "a second delete finds nothing"
    );
    assert!(
        claim(&store, "w", 10, now + secs(1)).await.is_empty(),
        "its job went with it"
    );
    assert!(
        !store
            .delete_snippet(&SnippetId::random(), GoneReason::Deleted, now)
            .await
            .unwrap()
    );
}

async fn a_burned_snippet_is_taken_by_exactly_one_reader(store: DynStore) {
    let now = Utc::now();
    let plain = new_snippet("keep\n", now);
    store.create_snippet(&plain).await.unwrap();
    assert!(
        store.take_snippet(&plain.id, now).await.unwrap().is_none(),
        "only burn-after-reading snippets can be taken"
    );
    assert!(store.snippet(&plain.id).await.unwrap().is_some());

    let mut secret = new_snippet("secret\n", now);
    secret.burn_after_reading = true;
    store.create_snippet(&secret).await.unwrap();
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let id = secret.id.clone();
            tokio::spawn(async move { store.take_snippet(&id, now).await.unwrap() })
        })
        .collect();
    let mut taken = Vec::new();
    for reader in readers {
        if let Some(view) = reader.await.unwrap() {
            taken.push(view);
        }
    }
    assert_eq!(taken.len(), 1, "exactly one reader gets it");
    assert_eq!(only_file(&taken[0]).code, "secret\n");
    assert!(taken[0].burn_after_reading);
    assert!(store.snippet(&secret.id).await.unwrap().is_none());
    assert_eq!(
        store.gone_reason(&secret.id).await.unwrap(),
        Some(GoneReason::Burned)
    );
}

async fn changing_the_language_queues_a_fresh_job_and_fences_the_old_one(store: DynStore) {
    let now = Utc::now();
    let new = new_snippet("x", now);
    store.create_snippet(&new).await.unwrap();
    let old = claim_one(&store, "w", now).await;
    assert!(
        store
            .change_language(&new.id, None, "Python", 3, now)
            .await
            .unwrap()
    );
    let view = view_of(&store, &new.id).await;
    assert_eq!(only_file(&view).language, "Python");
    assert_eq!(view.state, JobState::Queued);
    assert!(!complete(&store, &old, "<old/>", 1, now).await);
    let fresh = claim_one(&store, "w", now).await;
    assert_eq!(fresh.files.len(), 1);
    assert_eq!(fresh.files[0].language, "Python");
    assert_eq!(fresh.files[0].code.as_deref(), Some("x"));
    assert!(complete(&store, &fresh, "<new/>", 1, now).await);
    let view = view_of(&store, &new.id).await;
    assert_eq!(view.state, JobState::Succeeded);
    assert_eq!(only_file(&view).html.as_deref(), Some("<new/>"));
    // A file that is not there, or a snippet that is not: nothing changes.
    assert!(
        !store
            .change_language(&new.id, Some(1), "C", 3, now)
            .await
            .unwrap()
    );
    assert_eq!(view_of(&store, &new.id).await.state, JobState::Succeeded);
    assert!(
        !store
            .change_language(&SnippetId::random(), None, "Python", 3, now)
            .await
            .unwrap()
    );

    // One file of several: the others keep their language, and their
    // stored result is handed over with the claim instead of their code.
    let mut two = new_snippet("a", now);
    two.files = vec![file("a.rs", "fn a() {}\n"), file("b.rs", "fn b() {}\n")];
    store.create_snippet(&two).await.unwrap();
    let first = claim_one(&store, "w", now).await;
    assert!(complete(&store, &first, "<rust/>", 1, now).await);
    assert!(
        store
            .change_language(&two.id, Some(1), "C", 3, now)
            .await
            .unwrap()
    );
    let view = view_of(&store, &two.id).await;
    let languages: Vec<&str> = view.files.iter().map(|f| f.language.as_str()).collect();
    assert_eq!(languages, vec!["Rust", "C"]);
    let again = claim_one(&store, "w", now).await;
    assert_eq!(again.lease.snippet_id, two.id);
    assert_eq!(again.files.len(), 2);
    assert_eq!(again.files[0].code, None);
    assert_eq!(again.files[0].cached_html.as_deref(), Some("<rust/>"));
    assert_eq!(again.files[1].code.as_deref(), Some("fn b() {}\n"));
    assert_eq!(again.files[1].language, "C");
}

async fn saving_a_revision_moves_the_latest_and_refuses_stale_bases(store: DynStore) {
    let t0 = Utc::now();
    let new = new_snippet("fn a() {}\n", t0);
    store.create_snippet(&new).await.unwrap();
    let first = claim_one(&store, "w", t0).await;
    assert_eq!(first.lease.revision, 1);
    assert!(complete(&store, &first, "<r1/>", 1, t0).await);

    let t1 = t0 + secs(5);
    let mut save = new_revision(&new.id, 1, vec![file("main.rs", "fn a() { 1 }\n")], t1, 10);
    save.lines_added = 1;
    save.lines_removed = 1;
    assert_eq!(store.save_revision(&save).await.unwrap(), Saved::As(2));

    // Another author who also saw revision 1 (or one who names a revision
    // that never was) is told which is the latest now.
    let stale = new_revision(
        &new.id,
        1,
        vec![file("main.rs", "fn a() { 2 }\n")],
        t1 + secs(1),
        10,
    );
    assert_eq!(
        store.save_revision(&stale).await.unwrap(),
        Saved::Stale { latest: 2 }
    );
    let ahead = NewRevision {
        base: 7,
        ..stale.clone()
    };
    assert_eq!(
        store.save_revision(&ahead).await.unwrap(),
        Saved::Stale { latest: 2 }
    );
    let nowhere = NewRevision {
        id: SnippetId::random(),
        ..stale.clone()
    };
    assert_eq!(store.save_revision(&nowhere).await.unwrap(), Saved::Missing);

    // The latest is the new revision, not yet highlighted.
    let view = view_of(&store, &new.id).await;
    assert_eq!(
        (view.revision, view.latest_revision, view.first_revision),
        (2, 2, 1)
    );
    assert_eq!(only_file(&view).code, "fn a() { 1 }\n");
    assert_eq!(only_file(&view).html, None);
    assert_eq!(view.state, JobState::Queued);
    assert_eq!((view.lines_added, view.lines_removed), (1, 1));
    assert_eq!(view.revised_at.timestamp_millis(), t1.timestamp_millis());
    assert_eq!(view.created_at.timestamp_millis(), t0.timestamp_millis());

    // The old revision is still there, as it was.
    let old = store
        .snippet_revision(&new.id, 1)
        .await
        .unwrap()
        .expect("revision 1 is kept")
        .view;
    assert_eq!(
        (old.revision, old.latest_revision, old.first_revision),
        (1, 2, 1)
    );
    assert!(!old.is_latest());
    assert_eq!(only_file(&old).code, "fn a() {}\n");
    assert_eq!(old.state, JobState::Succeeded);
    assert_eq!(only_file(&old).html.as_deref(), Some("<r1/>"));
    assert!(store.snippet_revision(&new.id, 3).await.unwrap().is_none());
    assert!(
        store
            .snippet_revision(&SnippetId::random(), 1)
            .await
            .unwrap()
            .is_none()
    );
    let revisions = store.revisions(&new.id).await.unwrap();
    assert_eq!(numbers(&revisions), vec![1, 2]);
    assert_eq!(revisions[1].files.len(), 1);
    assert_eq!(revisions[1].files[0].hash, content_hash("fn a() { 1 }\n"));
    assert_eq!(
        (revisions[1].lines_added, revisions[1].lines_removed),
        (1, 1)
    );

    // Its job is queued (and only its: the refused saves queued nothing),
    // and a worker claims it with the changed code.
    assert_eq!(store.unfinished_jobs().await.unwrap(), 1);
    let t2 = t1 + secs(2);
    let second = claim_one(&store, "w", t2).await;
    assert_eq!(second.lease.snippet_id, new.id);
    assert_eq!(second.lease.revision, 2);
    assert_eq!(second.files.len(), 1);
    assert_eq!(second.files[0].code.as_deref(), Some("fn a() { 1 }\n"));
    assert!(claim(&store, "w", 10, t2).await.is_empty());
    assert!(complete(&store, &second, "<r2/>", 2, t2).await);
    let view = view_of(&store, &new.id).await;
    assert_eq!(view.state, JobState::Succeeded);
    assert_eq!(only_file(&view).html.as_deref(), Some("<r2/>"));
    let states = store
        .list_states(std::slice::from_ref(&new.id), t2)
        .await
        .unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].1.revision, 2);
    let old = store
        .snippet_revision(&new.id, 1)
        .await
        .unwrap()
        .unwrap()
        .view;
    assert_eq!(only_file(&old).html.as_deref(), Some("<r1/>"));
    // Saving over the new latest works.
    let next = new_revision(&new.id, 2, vec![file("main.rs", "fn a() { 3 }\n")], t2, 10);
    assert_eq!(store.save_revision(&next).await.unwrap(), Saved::As(3));
}

async fn pruning_keeps_the_newest_revisions_and_drops_code_nobody_holds(store: DynStore, raw: Raw) {
    const KEEP: u32 = 2;
    let t0 = Utc::now();
    let same = "// the same in every revision\n";
    let versions = ["v1\n", "v2\n", "v3\n", "v4\n"];
    let files = |version: &str| vec![file("same.rs", same), file("vary.rs", version)];
    let mut new = new_snippet(same, t0);
    new.files = files(versions[0]);
    store.create_snippet(&new).await.unwrap();
    // Another snippet holds the first version's code too.
    let other = new_snippet(versions[0], t0);
    store.create_snippet(&other).await.unwrap();
    // Everything is highlighted as it comes, so there are results to go.
    let jobs = claim(&store, "w", 10, t0).await;
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        assert!(complete(&store, job, "<h/>", 1, t0).await);
    }
    let mut t = t0;
    for base in 1..versions.len() as u32 {
        t += secs(1);
        let save = new_revision(&new.id, base, files(versions[base as usize]), t, KEEP);
        assert_eq!(
            store.save_revision(&save).await.unwrap(),
            Saved::As(base + 1)
        );
        let job = claim_one(&store, "w", t).await;
        assert_eq!(job.lease.revision, base + 1);
        assert!(complete(&store, &job, "<h/>", 1, t).await);
        if base + 1 == KEEP {
            // Not more than `keep` yet: nothing pruned.
            assert_eq!(
                numbers(&store.revisions(&new.id).await.unwrap()),
                vec![1, 2]
            );
            assert_eq!(view_of(&store, &new.id).await.first_revision, 1);
            assert_eq!(raw.highlights_of(versions[1]).await, 1, "v2 is highlighted");
        }
    }

    // Only the newest `keep` revisions remain.
    let view = view_of(&store, &new.id).await;
    assert_eq!(
        (view.revision, view.latest_revision, view.first_revision),
        (4, 4, 3)
    );
    assert_eq!(
        numbers(&store.revisions(&new.id).await.unwrap()),
        vec![3, 4]
    );
    for pruned in [1, 2] {
        assert!(
            store
                .snippet_revision(&new.id, pruned)
                .await
                .unwrap()
                .is_none(),
            "revision {pruned} was pruned"
        );
    }
    let oldest = store
        .snippet_revision(&new.id, 3)
        .await
        .unwrap()
        .expect("revision 3 is kept")
        .view;
    assert_eq!(oldest.first_revision, 3);
    assert_eq!(oldest.files[1].code, "v3\n");
    assert_eq!(oldest.state, JobState::Succeeded);
    // Their files, jobs and attempts went with them.
    assert_eq!(raw.rows_of("revisions", &new.id).await, 2);
    assert_eq!(raw.rows_of("files", &new.id).await, 4);
    assert_eq!(raw.rows_of("jobs", &new.id).await, 2);
    assert_eq!(raw.rows_of("job_attempts", &new.id).await, 2);
    // Code only pruned revisions held is gone, with its results; code
    // still held (by a kept revision, or by another snippet) stays.
    assert_eq!(raw.blobs_of(versions[1]).await, 0, "v2 is held by nobody");
    assert_eq!(raw.highlights_of(versions[1]).await, 0);
    assert_eq!(
        raw.blobs_of(versions[0]).await,
        1,
        "another snippet holds v1"
    );
    assert_eq!(raw.highlights_of(versions[0]).await, 1);
    assert_eq!(raw.blobs_of(same).await, 1, "kept revisions hold it");
    assert_eq!(raw.blobs_of(versions[2]).await, 1);
    assert_eq!(raw.blobs_of(versions[3]).await, 1);
    let other = view_of(&store, &other.id).await;
    assert_eq!(only_file(&other).code, "v1\n");
    assert_eq!(only_file(&other).html.as_deref(), Some("<h/>"));
}

/// A batch's rows travel to the database as one JSON parameter: what a
/// result holds (quotes, backslashes, line breaks, tabs, characters
/// beyond the BMP, a `$[0]` a JSON path would read) and the language it
/// is in come back as they went, and the highlighting time exactly.
async fn results_come_back_byte_for_byte(store: DynStore) {
    let t0 = Utc::now();
    let mut new = new_snippet("x", t0);
    new.files = vec![NewFile::new(
        "a.h".to_owned(),
        true,
        "C++ \"Header\" \\ $[0]".to_owned(),
        "int x;\n".to_owned(),
    )];
    store.create_snippet(&new).await.unwrap();
    let job = claim_one(&store, "w", t0).await;
    assert_eq!(job.files[0].language, "C++ \"Header\" \\ $[0]");
    let html = format!(
        "<x-s>\"a\\\"b\\\\\"</x-s>\r\n\t\u{7f}\u{2028}é😀 null {} {}",
        r#"[["x", 1]]"#,
        "ä".repeat(100_000)
    );
    let rendered = "<p>\\u0041 \u{1}</p>";
    let done = [FileResult {
        hash: &job.files[0].hash,
        language: &job.files[0].language,
        html: &html,
        rendered: Some(rendered),
        highlighted_in_ms: 3,
    }];
    // Past what a JSON reader holding numbers as doubles keeps exactly.
    let took_ms = 9_007_199_254_740_993;
    assert!(
        store
            .complete_job(&job.lease, &done, ENGINE, took_ms, t0)
            .await
            .unwrap()
    );
    let view = view_of(&store, &new.id).await;
    assert_eq!(view.state, JobState::Succeeded);
    assert_eq!(view.highlighted_in_ms, Some(took_ms));
    assert_eq!(view.files[0].html.as_deref(), Some(html.as_str()));
    assert_eq!(view.files[0].rendered.as_deref(), Some(rendered));
    // And as a stored result, claimed with a revision that keeps the file.
    let t1 = t0 + secs(1);
    let save = new_revision(
        &new.id,
        1,
        vec![new.files[0].clone(), file("main.rs", "fn main() {}\n")],
        t1,
        10,
    );
    assert_eq!(store.save_revision(&save).await.unwrap(), Saved::As(2));
    let second = claim_one(&store, "w", t1).await;
    assert_eq!(second.files[0].cached_html.as_deref(), Some(html.as_str()));
    assert_eq!(second.files[0].cached_rendered.as_deref(), Some(rendered));
}

async fn unchanged_files_are_claimed_with_their_stored_result(store: DynStore) {
    let t0 = Utc::now();
    let readme = "# Notes\n";
    let markdown = |language: &str| {
        NewFile::new(
            "README.md".to_owned(),
            true,
            language.to_owned(),
            readme.to_owned(),
        )
    };
    let mut new = new_snippet("fn one() {}\n", t0);
    new.files = vec![markdown("Markdown"), file("main.rs", "fn one() {}\n")];
    store.create_snippet(&new).await.unwrap();
    let first = claim_one(&store, "w", t0).await;
    assert_eq!(first.files.len(), 2);
    assert!(
        first
            .files
            .iter()
            .all(|f| f.code.is_some() && f.cached_html.is_none()),
        "nothing is stored yet: {:?}",
        first.files
    );
    let done = [
        FileResult {
            hash: &first.files[0].hash,
            language: "Markdown",
            html: "<readme/>",
            rendered: Some("<h1>Notes</h1>"),
            highlighted_in_ms: 1,
        },
        FileResult {
            hash: &first.files[1].hash,
            language: "Rust",
            html: "<one/>",
            rendered: None,
            highlighted_in_ms: 1,
        },
    ];
    assert!(
        store
            .complete_job(&first.lease, &done, ENGINE, 2, t0)
            .await
            .unwrap()
    );

    // Revision 2 changes main.rs only: README.md comes with its result.
    let t1 = t0 + secs(1);
    let save = new_revision(
        &new.id,
        1,
        vec![markdown("Markdown"), file("main.rs", "fn two() {}\n")],
        t1,
        10,
    );
    assert_eq!(store.save_revision(&save).await.unwrap(), Saved::As(2));
    let second = claim_one(&store, "w", t1).await;
    assert_eq!(second.lease.revision, 2);
    let [kept, changed] = &second.files[..] else {
        panic!("{:?}", second.files)
    };
    assert_eq!(kept.name, "README.md");
    assert_eq!(kept.hash, content_hash(readme));
    assert_eq!((kept.bytes, kept.lines), (8, 1));
    assert_eq!(kept.code, None, "not highlighted again");
    assert_eq!(kept.cached_html.as_deref(), Some("<readme/>"));
    assert_eq!(kept.cached_rendered.as_deref(), Some("<h1>Notes</h1>"));
    assert_eq!(changed.name, "main.rs");
    assert_eq!(changed.code.as_deref(), Some("fn two() {}\n"));
    assert_eq!(changed.cached_html, None);
    // The worker sends only what it highlighted; the revision shows both.
    let done = results(&second.files, "<two/>", 1);
    assert_eq!(done.len(), 1);
    assert!(
        store
            .complete_job(&second.lease, &done, ENGINE, 1, t1)
            .await
            .unwrap()
    );
    let view = view_of(&store, &new.id).await;
    assert_eq!(view.state, JobState::Succeeded);
    assert_eq!(view.files[0].html.as_deref(), Some("<readme/>"));
    assert_eq!(view.files[0].rendered.as_deref(), Some("<h1>Notes</h1>"));
    assert_eq!(view.files[1].html.as_deref(), Some("<two/>"));

    // Results are kept per content and language: the same code in
    // another language is highlighted again, and code an older revision
    // had (main.rs goes back to revision 1's) is not.
    let t2 = t1 + secs(1);
    let save = new_revision(
        &new.id,
        2,
        vec![markdown("Plain Text"), file("main.rs", "fn one() {}\n")],
        t2,
        10,
    );
    assert_eq!(store.save_revision(&save).await.unwrap(), Saved::As(3));
    let third = claim_one(&store, "w", t2).await;
    assert_eq!(third.lease.revision, 3);
    assert_eq!(third.files.len(), 2);
    assert_eq!(third.files[0].code.as_deref(), Some(readme));
    assert_eq!(third.files[0].cached_html, None);
    assert_eq!(third.files[1].code, None);
    assert_eq!(third.files[1].cached_html.as_deref(), Some("<one/>"));
    assert!(complete(&store, &third, "<plain/>", 1, t2).await);

    // And per content, not per snippet: another snippet with the same
    // code gets the result too.
    let copy = new_snippet("fn two() {}\n", t2);
    store.create_snippet(&copy).await.unwrap();
    let copied = claim_one(&store, "w", t2).await;
    assert_eq!(copied.lease.snippet_id, copy.id);
    assert_eq!(copied.files[0].code, None);
    assert_eq!(copied.files[0].cached_html.as_deref(), Some("<two/>"));
    assert!(complete(&store, &copied, "<unused/>", 1, t2).await);
    assert_eq!(
        only_file(&view_of(&store, &copy.id).await).html.as_deref(),
        Some("<two/>")
    );

    // Another engine version has none of these results.
    let t3 = t2 + secs(1);
    let save = new_revision(
        &new.id,
        3,
        vec![markdown("Plain Text"), file("main.rs", "fn one() {}\n")],
        t3,
        10,
    );
    assert_eq!(store.save_revision(&save).await.unwrap(), Saved::As(4));
    let mut other_engine = store
        .claim_jobs("w", 1, t3, t3 + secs(30), "conformance/2")
        .await
        .unwrap();
    assert_eq!(other_engine.len(), 1);
    let fourth = other_engine.remove(0);
    assert_eq!(fourth.lease.revision, 4);
    assert_eq!(fourth.files.len(), 2);
    assert!(
        fourth
            .files
            .iter()
            .all(|f| f.code.is_some() && f.cached_html.is_none()),
        "{:?}",
        fourth.files
    );
}

async fn forks_are_listed_when_public_and_name_only_a_public_original(store: DynStore) {
    let t0 = Utc::now();
    let original = new_snippet("original\n", t0);
    store.create_snippet(&original).await.unwrap();
    let fork_of = |of: &NewSnippet, code: &str, at, visibility| {
        let mut fork = new_snippet(code, at);
        fork.forked_from = Some(of.id.clone());
        fork.visibility = visibility;
        fork
    };
    let public_fork = fork_of(&original, "fork a\n", t0 + secs(1), Visibility::Public);
    let unlisted_fork = fork_of(&original, "fork b\n", t0 + secs(2), Visibility::Unlisted);
    let newer_fork = fork_of(&original, "fork c\n", t0 + secs(3), Visibility::Public);
    let unrelated = new_snippet("unrelated\n", t0 + secs(4));
    let mut expiring_fork = fork_of(&original, "fork d\n", t0 + secs(2), Visibility::Public);
    expiring_fork.expires_at = Some(t0 + secs(60));
    for new in [
        &public_fork,
        &unlisted_fork,
        &newer_fork,
        &unrelated,
        &expiring_fork,
    ] {
        store.create_snippet(new).await.unwrap();
    }
    let now = t0 + secs(10);
    let expired = t0 + secs(61);

    // Public forks only, newest first, as many as asked for.
    let forks = store.forks(&original.id, 10, now).await.unwrap();
    assert_eq!(
        ids(&forks),
        vec![
            newer_fork.id.clone(),
            expiring_fork.id.clone(),
            public_fork.id.clone()
        ]
    );
    assert_eq!(forks[0].preview, "fork c");
    assert_eq!(
        ids(&store.forks(&original.id, 1, now).await.unwrap()),
        vec![newer_fork.id.clone()]
    );
    assert!(
        store
            .forks(&public_fork.id, 10, now)
            .await
            .unwrap()
            .is_empty()
    );
    // An expired fork is not listed, swept or not yet.
    assert_eq!(
        ids(&store.forks(&original.id, 10, expired).await.unwrap()),
        vec![newer_fork.id.clone(), public_fork.id.clone()]
    );

    // A fork names its public original, listed or not itself.
    let named = Some(ForkOrigin {
        id: Some(original.id.clone()),
    });
    assert_eq!(view_of(&store, &public_fork.id).await.forked_from, named);
    assert_eq!(view_of(&store, &unlisted_fork.id).await.forked_from, named);
    assert_eq!(view_of(&store, &original.id).await.forked_from, None);
    assert_eq!(view_of(&store, &unrelated.id).await.forked_from, None);
    // Its revisions too.
    let save = new_revision(
        &public_fork.id,
        1,
        vec![file("main.rs", "fork a, edited\n")],
        t0 + secs(5),
        10,
    );
    assert_eq!(store.save_revision(&save).await.unwrap(), Saved::As(2));
    assert_eq!(view_of(&store, &public_fork.id).await.forked_from, named);
    let first = store
        .snippet_revision(&public_fork.id, 1)
        .await
        .unwrap()
        .unwrap()
        .view;
    assert_eq!(first.forked_from, named);

    // A fork of an unlisted snippet does not hand out its link.
    let mut hidden = new_snippet("hidden\n", t0 + secs(6));
    hidden.visibility = Visibility::Unlisted;
    store.create_snippet(&hidden).await.unwrap();
    let of_hidden = fork_of(&hidden, "of hidden\n", t0 + secs(7), Visibility::Public);
    store.create_snippet(&of_hidden).await.unwrap();
    assert_eq!(
        view_of(&store, &of_hidden.id).await.forked_from,
        Some(ForkOrigin { id: None })
    );
    assert_eq!(
        ids(&store.forks(&hidden.id, 10, now).await.unwrap()),
        vec![of_hidden.id.clone()]
    );

    // Nor does one whose original is gone; the fork itself stays.
    assert!(
        store
            .delete_snippet(&original.id, GoneReason::Deleted, t0 + secs(8))
            .await
            .unwrap()
    );
    let orphan = view_of(&store, &public_fork.id).await;
    assert_eq!(orphan.forked_from, Some(ForkOrigin { id: None }));
    assert_eq!(only_file(&orphan).code, "fork a, edited\n");
}

async fn deleting_a_snippet_removes_its_revisions_files_jobs_and_code(store: DynStore, raw: Raw) {
    let t0 = Utc::now();
    let shared = "// two snippets hold this\n";
    let mut doomed = new_snippet(shared, t0);
    doomed.files = vec![file("shared.rs", shared), file("own.rs", "own v1\n")];
    let survivor = new_snippet(shared, t0);
    store.create_snippet(&doomed).await.unwrap();
    store.create_snippet(&survivor).await.unwrap();
    let jobs = claim(&store, "w", 10, t0).await;
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        assert!(complete(&store, job, "<h/>", 1, t0).await);
    }
    let t1 = t0 + secs(1);
    let save = new_revision(
        &doomed.id,
        1,
        vec![file("shared.rs", shared), file("own.rs", "own v2\n")],
        t1,
        10,
    );
    assert_eq!(store.save_revision(&save).await.unwrap(), Saved::As(2));
    // Revision 2's job is running when the snippet is deleted.
    let running = claim_one(&store, "w", t1).await;
    assert_eq!(running.lease.snippet_id, doomed.id);

    assert_eq!(raw.rows_of("revisions", &doomed.id).await, 2);
    assert_eq!(raw.rows_of("files", &doomed.id).await, 4);
    assert_eq!(raw.rows_of("jobs", &doomed.id).await, 2);
    assert_eq!(raw.rows_of("job_attempts", &doomed.id).await, 1);
    assert_eq!(raw.blobs_of("own v1\n").await, 1);
    assert_eq!(raw.blobs_of("own v2\n").await, 1);
    assert_eq!(raw.highlights_of("own v1\n").await, 1);

    assert!(
        store
            .delete_snippet(&doomed.id, GoneReason::Deleted, t1)
            .await
            .unwrap()
    );
    for table in ["revisions", "files", "jobs", "job_attempts"] {
        assert_eq!(raw.rows_of(table, &doomed.id).await, 0, "{table}");
    }
    assert_eq!(raw.blobs_of("own v1\n").await, 0);
    assert_eq!(raw.blobs_of("own v2\n").await, 0);
    assert_eq!(raw.highlights_of("own v1\n").await, 0);
    // What another snippet holds stays, with its result.
    assert_eq!(raw.blobs_of(shared).await, 1);
    assert_eq!(raw.highlights_of(shared).await, 1);
    let kept = view_of(&store, &survivor.id).await;
    assert_eq!(only_file(&kept).code, shared);
    assert_eq!(only_file(&kept).html.as_deref(), Some("<h/>"));
    assert!(
        store
            .snippet_revision(&doomed.id, 1)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.revisions(&doomed.id).await.unwrap().is_empty());
    // The worker still running its job finds it gone.
    assert!(!complete(&store, &running, "<late/>", 1, t1).await);
    assert_eq!(store.unfinished_jobs().await.unwrap(), 0);

    // Burned and expired snippets leave no code behind either.
    let mut burned = new_snippet("burned code\n", t1);
    burned.burn_after_reading = true;
    let mut expiring = new_snippet("expiring code\n", t1);
    expiring.expires_at = Some(t1 + secs(10));
    store.create_snippet(&burned).await.unwrap();
    store.create_snippet(&expiring).await.unwrap();
    assert_eq!(raw.blobs_of("burned code\n").await, 1);
    assert_eq!(raw.blobs_of("expiring code\n").await, 1);
    assert!(store.take_snippet(&burned.id, t1).await.unwrap().is_some());
    assert_eq!(
        store.sweep_expired(t1 + secs(10)).await.unwrap(),
        vec![expiring.id.clone()]
    );
    for gone in [&burned, &expiring] {
        assert_eq!(raw.rows_of("revisions", &gone.id).await, 0);
        assert_eq!(raw.rows_of("files", &gone.id).await, 0);
        assert_eq!(raw.rows_of("jobs", &gone.id).await, 0);
    }
    assert_eq!(raw.blobs_of("burned code\n").await, 0);
    assert_eq!(raw.blobs_of("expiring code\n").await, 0);
}

/// Runs every conformance test against one driver. `$fresh` is an async
/// expression giving a fresh, empty store, the database under it (for the
/// tests that read it: `@raw_tests`) and a guard that keeps it.
macro_rules! conformance_suite {
    ($driver:ident, $fresh:expr) => {
        mod $driver {
            use super::*;
            conformance_suite!(@tests $fresh;
                create_and_read_back,
                recent_lists_newest_first,
                claims_respect_the_limit_and_never_hand_out_a_job_twice,
                concurrent_claims_split_the_queue,
                completion_is_fenced_by_the_lease,
                batches_written_side_by_side_share_their_results,
                a_batch_of_completions_is_fenced_job_by_job,
                retries_wait_for_their_time,
                failure_is_final_until_requeued,
                release_gives_the_attempt_back,
                rescue_fails_jobs_with_no_attempts_left,
                pruning_removes_old_job_records_but_keeps_outcomes,
                expired_snippets_are_swept_and_remembered,
                changing_the_language_queues_a_fresh_job_and_fences_the_old_one,
                owners_and_visibility_decide_what_is_listed,
                list_states_read_states_of_live_snippets_only,
                deletion_leaves_a_tombstone_with_its_reason,
                a_burned_snippet_is_taken_by_exactly_one_reader,
                saving_a_revision_moves_the_latest_and_refuses_stale_bases,
                unchanged_files_are_claimed_with_their_stored_result,
                results_come_back_byte_for_byte,
                forks_are_listed_when_public_and_name_only_a_public_original,
            );
            conformance_suite!(@raw_tests $fresh;
                pruning_keeps_the_newest_revisions_and_drops_code_nobody_holds,
                deleting_a_snippet_removes_its_revisions_files_jobs_and_code,
            );
        }
    };
    (@tests $fresh:expr; $($test:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let (store, _raw, _guard) = $fresh.await;
                tokio::time::timeout(Duration::from_secs(60), super::$test(store))
                    .await
                    .expect("conformance test timed out");
            }
        )+
    };
    (@raw_tests $fresh:expr; $($test:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let (store, raw, _guard) = $fresh.await;
                tokio::time::timeout(Duration::from_secs(60), super::$test(store, raw))
                    .await
                    .expect("conformance test timed out");
            }
        )+
    };
}

async fn fresh_sqlite() -> (DynStore, Raw, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    let raw = Raw::Sqlite(store.pool().clone());
    (std::sync::Arc::new(store), raw, dir)
}

conformance_suite!(sqlite, fresh_sqlite());

async fn fresh_postgres() -> (DynStore, Raw, common::pg::PgDatabase) {
    let database = common::pg::PgDatabase::create().await;
    let store = PgStore::connect(&database.url).await.unwrap();
    let raw = Raw::Postgres(store.pool().clone());
    (std::sync::Arc::new(store), raw, database)
}

conformance_suite!(postgres, fresh_postgres());

/// A claim reads the due jobs' index in order and stops at its limit,
/// even on a jobs table PostgreSQL has no statistics for yet (a burst
/// into a fresh database), where its planner would otherwise read every
/// due job through a bitmap and sort them all to lock the first few
/// (`Dialect::QUEUE_SETTINGS`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_claims_stop_at_their_limit_on_a_table_without_statistics() {
    let (store, raw, _guard) = fresh_postgres().await;
    let Raw::Postgres(pool) = raw else {
        unreachable!("a PostgreSQL store")
    };
    let now = Utc::now();
    // 10,000 due jobs in three statements (through the store, one commit
    // each, they would take minutes), and no analysis of them meanwhile.
    for sql in [
        "ALTER TABLE jobs SET (autovacuum_enabled = false)",
        "INSERT INTO snippets (id, created_at)
         SELECT 'burst' || lpad(g::text, 7, '0'), $1 FROM generate_series(1, 10000) g",
        "INSERT INTO revisions (snippet_id, number, created_at, file_count, bytes, lines,
                                first_language, preview)
         SELECT id, 1, $1, 0, 0, 0, 'Rust', '' FROM snippets",
        "INSERT INTO jobs (snippet_id, revision, state, max_attempts, run_at, created_at,
                           updated_at, enqueued_at)
         SELECT id, 1, 'queued', 3, $1, $1, $1, $1 FROM snippets",
    ] {
        let query = sqlx::query(sql);
        let query = if sql.contains("$1") {
            query.bind(now.timestamp_millis())
        } else {
            query
        };
        query.execute(&pool).await.unwrap();
    }
    let tuples: f32 = sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE relname = 'jobs'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(tuples < 0.0, "the jobs table has no statistics ({tuples})");
    // A claim of 40, as a busy node makes (of 10, the planner happens to
    // take the index even so).
    let claimed = claim(&store, "node-a/1", 40, now + secs(1)).await;
    assert_eq!(claimed.len(), 40);
    // The claiming connection reports its reads once it is idle.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let read = loop {
        let (scans, read): (i64, i64) = sqlx::query_as(
            "SELECT idx_scan, idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = 'jobs_due'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if scans > 0 {
            break read;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the claim's reads of the index were never reported"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        read < 400,
        "the claim read {read} of the index's 10,000 entries to take 40 jobs"
    );
}

/// SQLite's upgrade stores code from before revisions under `legacy:`
/// and its id (SQLite has no SHA-256); the store gives each its SHA-256
/// when it opens the database, moving files and results to it, and keeps
/// code two snippets share once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rehashes_legacy_code_when_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    let now = Utc::now();
    // Its code is stored under its SHA-256 already.
    let sharing = new_snippet("shared\n", now);
    let alone = new_snippet("placeholder one\n", now);
    let twin = new_snippet("placeholder two\n", now);
    for new in [&sharing, &alone, &twin] {
        SnippetStore::create_snippet(&store, new).await.unwrap();
    }
    // What the migration leaves: code and a result under `legacy:{id}`,
    // the outcome on the revision, no job record.
    let pool = store.pool().clone();
    for (snippet, code) in [(&alone, "legacy only\n"), (&twin, "shared\n")] {
        let (id, legacy) = (snippet.id.as_str(), format!("legacy:{}", snippet.id));
        sqlx::query("INSERT INTO blobs (hash, bytes, lines, code) VALUES ($1, $2, 1, $3)")
            .bind(&legacy)
            .bind(code.len() as i64)
            .bind(code)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO highlights (hash, language, engine, highlighted_in_ms, html)
             VALUES ($1, 'Rust', 'legacy', 3, $2)",
        )
        .bind(&legacy)
        .bind(format!("<legacy {id}/>"))
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("UPDATE files SET hash = $1 WHERE snippet_id = $2")
            .bind(&legacy)
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            "UPDATE revisions SET engine = 'legacy', highlighted_at = $2, highlighted_in_ms = 3
             WHERE snippet_id = $1",
        )
        .bind(id)
        .bind(now.timestamp_millis())
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("DELETE FROM jobs WHERE snippet_id = $1")
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
    }
    // The placeholders' code was never there.
    for code in ["placeholder one\n", "placeholder two\n"] {
        sqlx::query("DELETE FROM blobs WHERE hash = $1")
            .bind(content_hash(code))
            .execute(&pool)
            .await
            .unwrap();
    }
    let raw = Raw::Sqlite(pool.clone());
    let legacy_blobs = "SELECT COUNT(*) FROM blobs WHERE hash LIKE 'legacy:%'";
    assert_eq!(raw.count(legacy_blobs, &[]).await, 2);
    pool.close().await;
    drop(store);

    // Opened again, as after the upgrade.
    let reopened = SqliteStore::connect(&url).await.unwrap();
    let raw = Raw::Sqlite(reopened.pool().clone());
    let store: DynStore = std::sync::Arc::new(reopened);
    assert_eq!(raw.count(legacy_blobs, &[]).await, 0);
    assert_eq!(
        raw.count(
            "SELECT COUNT(*) FROM highlights WHERE hash LIKE 'legacy:%'",
            &[]
        )
        .await,
        0
    );
    // Code of its own: its file points at its SHA-256, and its result
    // moved with it.
    let view = view_of(&store, &alone.id).await;
    let file = only_file(&view);
    assert_eq!(file.hash, content_hash("legacy only\n"));
    assert_eq!(file.code, "legacy only\n");
    assert_eq!(view.state, JobState::Succeeded);
    assert_eq!(
        file.html.as_deref(),
        Some(format!("<legacy {}/>", alone.id).as_str())
    );
    assert_eq!(
        raw.count(
            "SELECT COUNT(*) FROM files WHERE snippet_id = $1 AND hash = $2",
            &[alone.id.as_str(), &content_hash("legacy only\n")]
        )
        .await,
        1
    );
    // Code another snippet holds too: stored once, both point at it.
    assert_eq!(raw.blobs_of("shared\n").await, 1);
    let twin_view = view_of(&store, &twin.id).await;
    assert_eq!(only_file(&twin_view).hash, content_hash("shared\n"));
    assert_eq!(only_file(&twin_view).code, "shared\n");
    assert_eq!(
        only_file(&twin_view).html.as_deref(),
        Some(format!("<legacy {}/>", twin.id).as_str())
    );
    let sharing_view = view_of(&store, &sharing.id).await;
    assert_eq!(only_file(&sharing_view).hash, content_hash("shared\n"));
}

/// PostgreSQL: a deletion whose code another transaction is just giving
/// to a new file (the same code pasted again) waits for it, and must then
/// keep that code and still delete the snippet, not fail on the foreign
/// key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_deletion_racing_a_new_holder_of_its_code_keeps_the_code() {
    let database = common::pg::PgDatabase::create().await;
    let store: DynStore = std::sync::Arc::new(PgStore::connect(&database.url).await.unwrap());
    let now = Utc::now();
    let racing = "fn raced() {}\n";
    let doomed = new_snippet(racing, now);
    let other = new_snippet("fn other() {}\n", now);
    for new in [&doomed, &other] {
        store.create_snippet(new).await.unwrap();
    }
    // Another transaction moves the other snippet's file onto the racing
    // code, and holds its lock on that blob until it commits.
    let raw = sqlx::PgPool::connect(&database.url).await.unwrap();
    let mut holder = raw.begin().await.unwrap();
    let moved = sqlx::query("UPDATE files SET hash = $1 WHERE snippet_id = $2")
        .bind(content_hash(racing))
        .bind(other.id.as_str())
        .execute(&mut *holder)
        .await
        .unwrap();
    assert_eq!(moved.rows_affected(), 1);
    let deleting = {
        let store = store.clone();
        let id = doomed.id.clone();
        tokio::spawn(async move { store.delete_snippet(&id, GoneReason::Deleted, now).await })
    };
    // The race is on only once the deletion waits for the holder's lock.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&raw)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the deletion never waited for the blob's new holder"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    holder.commit().await.unwrap();
    let deleted = tokio::time::timeout(Duration::from_secs(20), deleting)
        .await
        .expect("the deletion ends")
        .unwrap();
    assert!(matches!(deleted, Ok(true)), "{deleted:?}");
    let blobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blobs WHERE hash = $1")
        .bind(content_hash(racing))
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(blobs, 1, "the code its new holder needs is kept");
    assert_eq!(only_file(&view_of(&store, &other.id).await).code, racing);
}

/// The NOTIFY path between nodes: what one node's bus publishes reaches
/// another node's hub through PostgreSQL, every event, in order, packed
/// several to a NOTIFY; the publishing node's own hub gets each once (its
/// relay skips its own notices).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_notices_reach_other_nodes_in_order_and_never_twice() {
    use highlighter::{
        domain::{Progressed, SnippetEvent},
        server::events::{EventBus, Hub, Relay, publisher},
    };
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;

    let (store, _raw, _database) = fresh_postgres().await;
    let pool = highlighter::server::store::connect(&_database.url)
        .await
        .unwrap()
        .postgres
        .expect("a PostgreSQL pool");
    let shutdown = CancellationToken::new();
    let node = |name: &str| {
        let hub = Hub::new();
        tokio::spawn(
            Relay {
                pool: pool.clone(),
                snippets: store.clone(),
                hub: Arc::clone(&hub),
                wake: Arc::new(tokio::sync::Notify::new()),
                node_id: name.to_owned(),
            }
            .run(shutdown.clone()),
        );
        let (outbox, queued) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(publisher(pool.clone(), queued, shutdown.clone()));
        (EventBus::postgres(Arc::clone(&hub), outbox, name), hub)
    };
    let (bus_a, hub_a) = node("node-a");
    let (_bus_b, hub_b) = node("node-b");
    let id = SnippetId::random();
    let mut on_a = hub_a.subscribe(&id);
    let mut on_b = hub_b.subscribe(&id);
    // Both relays are listening once a probe from each side arrives.
    let probe = SnippetId::random();
    let mut probe_on_b = hub_b.subscribe(&probe);
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            bus_a.publish(
                &probe,
                SnippetEvent::Progress(Progressed {
                    revision: 1,
                    done: 0,
                    total: 1,
                    file: None,
                }),
            );
            if tokio::time::timeout(Duration::from_millis(200), probe_on_b.recv())
                .await
                .is_ok()
            {
                return;
            }
        }
    })
    .await
    .expect("node B's relay hears node A");

    // Fewer than a hub channel holds (64), so that reading after the
    // last publish never finds a lagged subscription.
    const EVENTS: u32 = 60;
    for done in 1..=EVENTS {
        bus_a.publish(
            &id,
            SnippetEvent::Progress(Progressed {
                revision: 1,
                done,
                total: EVENTS,
                file: None,
            }),
        );
    }
    for (name, subscription) in [("A", &mut on_a), ("B", &mut on_b)] {
        for done in 1..=EVENTS {
            let published = tokio::time::timeout(Duration::from_secs(10), subscription.recv())
                .await
                .unwrap_or_else(|_| panic!("node {name} missed event {done}"))
                .expect("the subscription is open");
            assert_eq!(
                published.event,
                SnippetEvent::Progress(Progressed {
                    revision: 1,
                    done,
                    total: EVENTS,
                    file: None,
                }),
                "node {name}, in order"
            );
        }
    }
    // Nothing more: node A did not hear its own notices again.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), on_a.recv())
            .await
            .is_err(),
        "node A got an event twice"
    );

    // A completion's notice goes out with the commit that stores the
    // result, and node B (whose page shows the snippet) reads the HTML.
    let now = Utc::now();
    let new = new_snippet("fn done() {}\n", now);
    store.create_snippet(&new).await.unwrap();
    let job = claim_one(&store, "node-a/1", now).await;
    let mut done_on_b = hub_b.subscribe(&new.id);
    let highlighted = SnippetEvent::Highlighted(highlighter::domain::Highlighted {
        revision: 1,
        html: String::new(),
        language: "Rust".into(),
        highlighted_in_ms: 7,
    });
    let notice = bus_a.notice_for(&new.id, &highlighted);
    assert!(notice.is_some(), "a PostgreSQL bus sends notices");
    let done = results(&job.files, "<b>done</b>", 7);
    let again = results(&job.files, "<b>again</b>", 7);
    assert_eq!(done.len(), 1);
    let complete = |files| {
        [Completed {
            lease: &job.lease,
            files,
            engine: ENGINE,
            highlighted_in_ms: 7,
            notice: notice.as_deref(),
        }]
    };
    assert_eq!(
        store.complete_jobs(&complete(&done), now).await.unwrap(),
        vec![true]
    );
    // Each file's result first (read back from the database), then
    // `highlighted`.
    let mut files_heard = 0;
    loop {
        let published = tokio::time::timeout(Duration::from_secs(10), done_on_b.recv())
            .await
            .expect("node B hears of the result")
            .unwrap();
        match &published.event {
            SnippetEvent::File(f) => {
                assert_eq!((f.revision, f.html.as_str()), (1, "<b>done</b>"));
                files_heard += 1;
            }
            SnippetEvent::Highlighted(h) => {
                assert_eq!((h.revision, h.html.as_str()), (1, "<b>done</b>"));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(files_heard, 1, "one file, one `file` event");
    // A result that is not stored (its lease is spent) says nothing.
    assert_eq!(
        store.complete_jobs(&complete(&again), now).await.unwrap(),
        vec![false]
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(500), done_on_b.recv())
            .await
            .is_err(),
        "no notice for a result that was not stored"
    );
    shutdown.cancel();
}
