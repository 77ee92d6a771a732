//! One conformance suite for every storage driver (as River runs one
//! driver suite on every driver): each test takes a fresh, empty store.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use highlighter::{
    domain::{Filename, GoneReason, JobState, Progress, SnippetId, SourceCode, Visibility},
    server::{
        owner::OwnerSecret,
        store::{Completed, DynStore, Lease, NewSnippet, Rescued, SqliteStore},
    },
};

fn new_snippet(code: &str, at: DateTime<Utc>) -> NewSnippet {
    NewSnippet {
        id: SnippetId::random(),
        code: SourceCode::parse(code.to_owned(), 1 << 20).unwrap(),
        language: "Rust".to_owned(),
        filename: Filename::parse(Some("main.rs")).unwrap(),
        max_attempts: 3,
        created_at: at,
        expires_at: None,
        owner: Some(OwnerSecret::random().hash()),
        visibility: Visibility::Public,
        burn_after_reading: false,
    }
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// Claims the one due job for `worker` at `at`, leased for 30 s.
async fn claim_one(store: &DynStore, worker: &str, at: DateTime<Utc>) -> Lease {
    store
        .claim_jobs(worker, 1, at, at + secs(30))
        .await
        .unwrap()
        .remove(0)
        .lease
}

async fn create_and_read_back(store: DynStore) {
    let now = Utc::now();
    let new = new_snippet("fn main() {}\n", now);
    store.create_snippet(&new).await.unwrap();
    let view = store.snippet(&new.id).await.unwrap().unwrap().view;
    assert_eq!(view.code, "fn main() {}\n");
    assert_eq!(view.language, "Rust");
    assert_eq!(view.filename.as_deref(), Some("main.rs"));
    assert_eq!(view.state, JobState::Queued);
    assert_eq!(view.attempts, 0);
    assert_eq!(view.max_attempts, 3);
    assert_eq!(view.created_at.timestamp_millis(), now.timestamp_millis());
    assert!(view.html.is_none());
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
    let got: Vec<_> = recent.iter().map(|s| s.id.clone()).collect();
    assert_eq!(got, vec![ids[4].clone(), ids[3].clone(), ids[2].clone()]);
    assert_eq!(recent[0].preview, "line 4");
    assert_eq!(recent[0].lines, 4);
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
    let a = store
        .claim_jobs("a", 2, later, later + secs(30))
        .await
        .unwrap();
    assert_eq!(a.len(), 2);
    let b = store
        .claim_jobs("b", 10, later, later + secs(30))
        .await
        .unwrap();
    assert_eq!(b.len(), 3);
    assert!(
        store
            .claim_jobs("c", 10, later, later + secs(30))
            .await
            .unwrap()
            .is_empty()
    );
    let mut all: Vec<_> = a
        .iter()
        .chain(&b)
        .map(|j| j.lease.snippet_id.clone())
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all, {
        let mut v: Vec<_> = a
            .iter()
            .chain(&b)
            .map(|j| j.lease.snippet_id.clone())
            .collect();
        v.sort();
        v
    });
    assert_eq!(all.len(), 5);
    assert!(
        a.iter()
            .all(|j| j.lease.attempt == 1 && j.lease.worker == "a")
    );
    let view = store
        .snippet(&a[0].lease.snippet_id)
        .await
        .unwrap()
        .unwrap()
        .view;
    assert_eq!(view.state, JobState::Processing);
    assert_eq!(view.attempts, 1);
    assert_eq!(a[0].code.len(), 1);
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
                let jobs = store
                    .claim_jobs(&format!("w{w}"), 3, later, later + secs(30))
                    .await
                    .unwrap();
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
    assert_eq!(rescued, vec![Rescued::Requeued(new.id.clone())]);
    let t = now + secs(32);
    let second = claim_one(&store, "w2", t).await;
    assert_eq!(second.attempt, 2);
    // The stale worker can neither renew, report, fail nor complete.
    assert!(!store.renew_lease(&first, t, t + secs(30)).await.unwrap());
    assert!(
        !store
            .save_progress(&first, Progress { done: 1, total: 1 })
            .await
            .unwrap()
    );
    assert!(!store.complete_job(&first, "<stale/>", 1, t).await.unwrap());
    assert!(!store.fail_job(&first, "stale", t).await.unwrap());
    assert!(!store.retry_job(&first, "stale", t, t).await.unwrap());
    assert!(!store.release_job(&first, t).await.unwrap());
    // The holder can.
    assert!(store.renew_lease(&second, t, t + secs(30)).await.unwrap());
    assert!(
        store
            .save_progress(&second, Progress { done: 1, total: 1 })
            .await
            .unwrap()
    );
    assert_eq!(
        store.snippet(&new.id).await.unwrap().unwrap().view.progress,
        Some(Progress { done: 1, total: 1 })
    );
    assert!(store.complete_job(&second, "<fresh/>", 5, t).await.unwrap());
    let view = store.snippet(&new.id).await.unwrap().unwrap().view;
    assert_eq!(view.state, JobState::Succeeded);
    assert_eq!(view.html.as_deref(), Some("<fresh/>"));
    assert_eq!(view.highlighted_in_ms, Some(5));
    assert!(view.progress.is_none());
    // And completing twice is refused too.
    assert!(!store.complete_job(&second, "<again/>", 5, t).await.unwrap());
}

async fn a_batch_of_completions_is_fenced_job_by_job(store: DynStore) {
    let now = Utc::now();
    for i in 0..3 {
        let new = new_snippet(&format!("fn f{i}() {{}}\n"), now);
        store.create_snippet(&new).await.unwrap();
    }
    let claimed = store.claim_jobs("w", 3, now, now + secs(30)).await.unwrap();
    assert_eq!(claimed.len(), 3);
    // What a worker needs comes with the claim.
    assert!(
        claimed
            .iter()
            .all(|j| j.code.starts_with("fn f") && j.language == "Rust")
    );
    // The middle job's lease is stale: it was taken over after expiring.
    let stale = Lease {
        attempt: 99,
        ..claimed[1].lease.clone()
    };
    let done = [
        Completed {
            lease: &claimed[0].lease,
            html: "<a/>",
            highlighted_in_ms: 1,
            notice: None,
        },
        Completed {
            lease: &stale,
            html: "<stale/>",
            highlighted_in_ms: 2,
            notice: None,
        },
        Completed {
            lease: &claimed[2].lease,
            html: "<c/>",
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
        let view = store
            .snippet(&job.lease.snippet_id)
            .await
            .unwrap()
            .unwrap()
            .view;
        assert_eq!(view.html.as_deref(), html);
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
    let lease = claim_one(&store, "w", now).await;
    let run_at = now + secs(10);
    assert!(store.retry_job(&lease, "down", run_at, now).await.unwrap());
    let view = store.snippet(&new.id).await.unwrap().unwrap().view;
    assert_eq!(view.state, JobState::Retrying);
    assert_eq!(view.error.as_deref(), Some("down"));
    assert_eq!(
        view.next_attempt_at.unwrap().timestamp_millis(),
        run_at.timestamp_millis()
    );
    assert!(
        store
            .claim_jobs("w", 1, now + secs(9), now + secs(39))
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_jobs("w", 1, now + secs(10), now + secs(40))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].lease.attempt, 2);
}

async fn failure_is_final_until_requeued(store: DynStore) {
    let now = Utc::now();
    let new = new_snippet("x", now);
    store.create_snippet(&new).await.unwrap();
    // Not failed: nothing to requeue.
    assert!(!store.requeue_failed(&new.id, 3, now).await.unwrap());
    let lease = claim_one(&store, "w", now).await;
    assert!(store.fail_job(&lease, "bad input", now).await.unwrap());
    let view = store.snippet(&new.id).await.unwrap().unwrap().view;
    assert_eq!(view.state, JobState::Failed);
    assert_eq!(view.error.as_deref(), Some("bad input"));
    assert!(
        store
            .claim_jobs("w", 1, now + secs(100), now + secs(130))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.requeue_failed(&new.id, 3, now).await.unwrap());
    let view = store.snippet(&new.id).await.unwrap().unwrap().view;
    assert_eq!(view.state, JobState::Queued);
    assert_eq!(view.attempts, 0);
    assert!(view.error.is_none());
    assert_eq!(
        store
            .claim_jobs("w", 1, now, now + secs(30))
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn release_gives_the_attempt_back(store: DynStore) {
    let now = Utc::now();
    let new = new_snippet("x", now);
    store.create_snippet(&new).await.unwrap();
    let lease = claim_one(&store, "w", now).await;
    assert!(store.release_job(&lease, now).await.unwrap());
    let view = store.snippet(&new.id).await.unwrap().unwrap().view;
    assert_eq!(view.state, JobState::Queued);
    assert_eq!(view.attempts, 0);
    let again = store.claim_jobs("w", 1, now, now + secs(30)).await.unwrap();
    assert_eq!(again[0].lease.attempt, 1);
}

async fn rescue_fails_jobs_with_no_attempts_left(store: DynStore) {
    let now = Utc::now();
    let new = new_snippet("x", now);
    store.create_snippet(&new).await.unwrap();
    let mut t = now;
    for attempt in 1..=3 {
        let claimed = store.claim_jobs("w", 1, t, t + secs(30)).await.unwrap();
        assert_eq!(claimed[0].lease.attempt, attempt);
        t += secs(31);
        let rescued = store.rescue_expired(t).await.unwrap();
        if attempt < 3 {
            assert_eq!(rescued, vec![Rescued::Requeued(new.id.clone())]);
        } else {
            let [Rescued::Failed(id, failed)] = &rescued[..] else {
                panic!("{rescued:?}");
            };
            assert_eq!(id, &new.id);
            assert_eq!(failed.attempts, 3);
            assert!(failed.error.contains("stopped responding"), "{failed:?}");
        }
    }
    // The rescue told its pages what they now show.
    let view = store.snippet(&new.id).await.unwrap().unwrap().view;
    assert_eq!(view.state, JobState::Failed);
    assert_eq!(view.attempts, 3);
    assert!(view.error.unwrap().contains("stopped responding"));
    // Leases that have not expired are left alone.
    let other = new_snippet("y", t);
    store.create_snippet(&other).await.unwrap();
    store.claim_jobs("w", 1, t, t + secs(30)).await.unwrap();
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
    let mut claimed = store.claim_jobs("w", 2, now, now + secs(30)).await.unwrap();
    claimed.sort_by_key(|j| if j.lease.snippet_id == ok.id { 0 } else { 1 });
    let leases: Vec<Lease> = claimed.into_iter().map(|j| j.lease).collect();
    // Whichever two were claimed: succeed one, fail the other.
    assert!(
        store
            .complete_job(&leases[0], "<ok/>", 1, now)
            .await
            .unwrap()
    );
    assert!(store.fail_job(&leases[1], "nope", now).await.unwrap());
    let succeeded_id = leases[0].snippet_id.clone();
    let failed_id = leases[1].snippet_id.clone();

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

    let s = store.snippet(&succeeded_id).await.unwrap().unwrap().view;
    assert_eq!(s.state, JobState::Succeeded);
    assert_eq!(s.html.as_deref(), Some("<ok/>"));
    let f = store.snippet(&failed_id).await.unwrap().unwrap().view;
    assert_eq!(f.state, JobState::Failed);
    assert_eq!(f.error.as_deref(), Some("nope"));
    // A pruned failure can still be tried again.
    assert!(store.requeue_failed(&failed_id, 3, now).await.unwrap());
    assert_eq!(
        store.snippet(&failed_id).await.unwrap().unwrap().view.state,
        JobState::Queued
    );
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
    let claimed: Vec<SnippetId> = store
        .claim_jobs("w", 10, now + secs(61), now + secs(91))
        .await
        .unwrap()
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
    let recent: Vec<_> = store
        .recent_snippets(10, now + secs(5))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        recent,
        vec![someone_elses.id.clone(), public.id.clone()],
        "unlisted is never listed"
    );
    let mine = store
        .owner_snippets(&alice, 10, now + secs(5))
        .await
        .unwrap();
    let ids: Vec<_> = mine.iter().map(|s| s.id.clone()).collect();
    assert_eq!(ids, vec![unlisted.id.clone(), public.id.clone()]);
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
    let lease = claim_one(&store, "w", now).await;
    store
        .save_progress(&lease, Progress { done: 1, total: 4 })
        .await
        .unwrap();
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
        store
            .claim_jobs("w", 10, now + secs(1), now + secs(30))
            .await
            .unwrap()
            .is_empty(),
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
    assert_eq!(taken[0].code, "secret\n");
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
            .change_language(&new.id, "Python", 3, now)
            .await
            .unwrap()
    );
    let view = store.snippet(&new.id).await.unwrap().unwrap().view;
    assert_eq!(view.language, "Python");
    assert_eq!(view.state, JobState::Queued);
    assert!(!store.complete_job(&old, "<old/>", 1, now).await.unwrap());
    let fresh = store
        .claim_jobs("w", 1, now, now + secs(30))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(fresh.language, "Python");
    assert!(
        store
            .complete_job(&fresh.lease, "<new/>", 1, now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .change_language(&SnippetId::random(), "Python", 3, now)
            .await
            .unwrap()
    );
}

/// Runs every conformance test against one driver. `$fresh` is an async
/// expression giving a fresh, empty store.
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
            );
        }
    };
    (@tests $fresh:expr; $($test:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let (store, _guard) = $fresh.await;
                tokio::time::timeout(Duration::from_secs(60), super::$test(store))
                    .await
                    .expect("conformance test timed out");
            }
        )+
    };
}

async fn fresh_sqlite() -> (DynStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    (std::sync::Arc::new(store), dir)
}

conformance_suite!(sqlite, fresh_sqlite());

async fn fresh_postgres() -> (DynStore, common::pg::PgDatabase) {
    let database = common::pg::PgDatabase::create().await;
    let store = highlighter::server::store::PgStore::connect(&database.url)
        .await
        .unwrap();
    (std::sync::Arc::new(store), database)
}

conformance_suite!(postgres, fresh_postgres());

/// The NOTIFY path between nodes: what one node's bus publishes reaches
/// another node's hub through PostgreSQL, every event, in order, packed
/// several to a NOTIFY; the publishing node's own hub gets each once (its
/// relay skips its own notices).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_notices_reach_other_nodes_in_order_and_never_twice() {
    use highlighter::{
        domain::SnippetEvent,
        server::events::{EventBus, Hub, Relay, publisher},
    };
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;

    let (store, _database) = fresh_postgres().await;
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
                SnippetEvent::Progress(Progress { done: 0, total: 1 }),
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
            SnippetEvent::Progress(Progress {
                done,
                total: EVENTS,
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
                SnippetEvent::Progress(Progress {
                    done,
                    total: EVENTS
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
    let lease = claim_one(&store, "node-a/1", now).await;
    let mut done_on_b = hub_b.subscribe(&new.id);
    let highlighted = SnippetEvent::Highlighted(highlighter::domain::Highlighted {
        html: String::new(),
        language: "Rust".into(),
        highlighted_in_ms: 7,
    });
    let notice = bus_a.notice_for(&new.id, &highlighted);
    assert!(notice.is_some(), "a PostgreSQL bus sends notices");
    let complete = |html| {
        [Completed {
            lease: &lease,
            html,
            highlighted_in_ms: 7,
            notice: notice.as_deref(),
        }]
    };
    assert_eq!(
        store
            .complete_jobs(&complete("<b>done</b>"), now)
            .await
            .unwrap(),
        vec![true]
    );
    let published = tokio::time::timeout(Duration::from_secs(10), done_on_b.recv())
        .await
        .expect("node B hears of the result")
        .unwrap();
    match &published.event {
        SnippetEvent::Highlighted(h) => assert_eq!(h.html, "<b>done</b>"),
        other => panic!("{other:?}"),
    }
    // A result that is not stored (its lease is spent) says nothing.
    assert_eq!(
        store
            .complete_jobs(&complete("<b>again</b>"), now)
            .await
            .unwrap(),
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
