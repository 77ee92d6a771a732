//! The tree-sitter engine in child processes, so that no paste can take
//! the server down.
//!
//! Grammars are C code generated from grammar files, and their scanners
//! are hand-written C: a bug there (PHP's heredoc scanner once crashed on
//! every heredoc) is a segfault, which in the server would end every open
//! stream and every running job. So the server never runs them itself: a
//! small pool of children (the same binary, started with
//! `--highlight-worker`) does, one snippet at a time each, limited in
//! memory. A child that crashes, runs past its budget or is no longer
//! wanted is killed and replaced; the snippet it had falls back to syntect,
//! and the log says why.
//!
//! The protocol on the child's stdin and stdout is frames of a tag byte
//! and a length-prefixed body:
//!
//! - parent -> child: `J` a job: language, budget in ms, the code.
//! - child -> parent: `R` ready (at once: its grammars compile in the
//!   background, or for the job that first needs each), `P` progress
//!   (lines done, lines in all), `H` the HTML, `E` why there is none, and
//!   once, whenever it comes (between jobs or in the middle of one), `W`
//!   warm: every grammar is compiled.
//!
//! A task per child reads its frames whole and hands them to the job at
//! hand, so a `W` is seen the moment it is written, not at the next job.
//! The pool is warm once as many `W` have come as it has children: the
//! node's readiness (`/api/ready`) waits for that, because a child that
//! compiles grammars takes the CPU a node's first jobs need.

use std::{
    io::{self, Read, Write},
    path::PathBuf,
    process::Stdio,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt, BufReader},
    process::{Child, ChildStdin, ChildStdout, Command},
    sync::{Notify, mpsc},
};
use tokio_util::sync::CancellationToken;

use super::{
    CancelFlag, ProgressSink,
    quiet::{self, Activity},
    treesitter::{Run, TreeSitter, TreeSitterError},
};
use crate::domain::Progress;

/// The flag that makes the server binary a highlighting child.
pub const CHILD_FLAG: &str = "--highlight-worker";
/// Fault injection, for the tests that prove a crash harms no one: a child
/// started with this variable set crashes (a real SIGSEGV) on any snippet
/// that contains its value.
pub const CRASH_ON_ENV: &str = "HIGHLIGHTER_CHILD_CRASH_ON";
/// Fault injection, for the test that proves a hung grammar harms no one:
/// a child started with this variable set stops answering (it sleeps for
/// good, deaf to its budget, as a grammar caught in a loop would) on any
/// snippet that contains its value.
pub const HANG_ON_ENV: &str = "HIGHLIGHTER_CHILD_HANG_ON";
/// Address space a child may use. Parse tables are mapped from the binary
/// (tens of MB); a syntax tree of a 512 KiB paste is a few MB more.
const CHILD_MEMORY_LIMIT: u64 = 1 << 30;
/// How long a new child may take to get ready before it is given up on.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Progress frames a child sends per second, at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(50);
/// A child is killed this long after its budget, if it has not answered
/// (its own budget check should have stopped it long before).
const GRACE: Duration = Duration::from_secs(1);

/// Why the isolated engine gave no HTML.
#[derive(Debug, thiserror::Error)]
pub enum IsolatedError {
    #[error("no highlighting child is ready")]
    NotReady,
    #[error("the highlighting child stopped ({0})")]
    Crashed(String),
    /// Asked to stop; the child at work on it is killed and replaced.
    #[error("cancelled")]
    Cancelled,
    #[error(transparent)]
    TreeSitter(#[from] TreeSitterError),
}

/// The pool of children, and the task that keeps it full.
pub struct IsolatedTreeSitter {
    shared: Arc<Shared>,
}

struct Shared {
    program: PathBuf,
    /// Extra environment for the children (fault injection in tests).
    env: Vec<(String, String)>,
    size: usize,
    /// Children ready for a job.
    idle: Mutex<Vec<ChildProcess>>,
    /// The process ids of the children at work.
    busy: Mutex<Vec<u32>>,
    /// Children alive: idle, busy or starting.
    live: AtomicUsize,
    /// Rung when a child is gone, so the supervisor starts another.
    gone: Notify,
    /// Rung when a child becomes ready or warm (readiness, tests and
    /// benchmarks wait for it).
    ready: Notify,
    /// Rung (once per child) when a child goes idle: a job waiting for
    /// one takes it.
    freed: Notify,
    /// Children taken from `idle` for a job and not yet back or gone.
    /// Changed only under `idle`'s lock, so that "none idle and none at
    /// work" is one consistent look.
    at_work: AtomicUsize,
    restarts: AtomicUsize,
    /// `W` frames received since the pool started. A replaced child warms
    /// again and counts again; only start-up needs the count.
    warmed: AtomicUsize,
}

/// A whole frame from a child: its tag and body.
type Frame = (u8, Vec<u8>);

struct ChildProcess {
    child: Child,
    stdin: ChildStdin,
    /// The child's frames, read whole by [`read_frames`].
    frames: mpsc::Receiver<io::Result<Frame>>,
    shared: Arc<Shared>,
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        // Dropped while busy (a job given up on) or after a failure: it is
        // killed (`kill_on_drop`), and the supervisor replaces it.
        let _ = self.child.start_kill();
        self.shared.live.fetch_sub(1, Ordering::SeqCst);
        self.shared.gone.notify_one();
    }
}

impl IsolatedTreeSitter {
    /// Starts `size` children of `program` (the server binary) and a task
    /// that replaces those that go, until `shutdown`.
    pub fn start(program: PathBuf, size: usize, shutdown: CancellationToken) -> Self {
        Self::start_with_env(program, size, shutdown, Vec::new())
    }

    /// [`start`](Self::start), with variables set in the children's
    /// environment.
    pub fn start_with_env(
        program: PathBuf,
        size: usize,
        shutdown: CancellationToken,
        env: Vec<(String, String)>,
    ) -> Self {
        let shared = Arc::new(Shared {
            program,
            env,
            size: size.max(1),
            idle: Mutex::default(),
            busy: Mutex::default(),
            live: AtomicUsize::new(0),
            gone: Notify::new(),
            ready: Notify::new(),
            freed: Notify::new(),
            at_work: AtomicUsize::new(0),
            restarts: AtomicUsize::new(0),
            warmed: AtomicUsize::new(0),
        });
        tokio::spawn(supervise(Arc::clone(&shared), shutdown));
        IsolatedTreeSitter { shared }
    }

    /// Children ready for a job now.
    pub fn ready_children(&self) -> usize {
        self.shared
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// The process ids of the children at work now (for tests that stand
    /// in for a crashing grammar, and for operators).
    pub fn busy_child_pids(&self) -> Vec<u32> {
        self.shared
            .busy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Children started to replace one that went (crashed, killed).
    pub fn restarts(&self) -> usize {
        self.shared.restarts.load(Ordering::SeqCst)
    }

    /// Waits until `count` children are ready, or `limit` passes.
    pub async fn wait_ready(&self, count: usize, limit: Duration) -> bool {
        let count = count.min(self.shared.size);
        self.wait_for(limit, || self.ready_children() >= count)
            .await
    }

    /// Whether every child has compiled all its grammars (once, since the
    /// pool started).
    pub fn warmed(&self) -> bool {
        self.shared.warmed.load(Ordering::SeqCst) >= self.shared.size
    }

    /// Waits until the pool is [warm](Self::warmed), or `limit` passes.
    pub async fn wait_warm(&self, limit: Duration) -> bool {
        self.wait_for(limit, || self.warmed()).await
    }

    async fn wait_for(&self, limit: Duration, done: impl Fn() -> bool) -> bool {
        let until_done = async {
            loop {
                // Registered before the check, so a ring between the two
                // is not missed.
                let rung = self.shared.ready.notified();
                if done() {
                    return;
                }
                rung.await;
            }
        };
        // A `limit` too far to add to now (`Duration::MAX`) never elapses.
        tokio::time::timeout(limit, until_done).await.is_ok()
    }

    /// Highlights in a child: an idle one, or the first another job frees.
    ///
    /// A node runs more jobs at once than it has children (a small job
    /// spends most of its time on the database, not in a child), so a job
    /// may find every child at work: it waits for one, as it would for a
    /// core. With no child at work and none idle (all starting, or being
    /// replaced) the answer is `NotReady` at once, and the caller uses
    /// another engine rather than wait on a start.
    pub async fn highlight(
        &self,
        code: &str,
        language: &str,
        progress: &ProgressSink,
        cancel: &CancelFlag,
        budget: Duration,
    ) -> Result<String, IsolatedError> {
        let (mut child, at_work) = self.take_child(cancel).await?;
        let outcome = child.run(code, language, progress, cancel, budget).await;
        match outcome {
            Ok(answer) => {
                at_work.give_back(child);
                self.shared.freed.notify_one();
                answer.map_err(IsolatedError::from)
            }
            // The child is dropped: killed, and replaced.
            Err(crashed) => Err(crashed),
        }
    }

    /// An idle child, waiting for one while others are at work.
    async fn take_child(
        &self,
        cancel: &CancelFlag,
    ) -> Result<(ChildProcess, AtWork<'_>), IsolatedError> {
        let mut cancel_check = tokio::time::interval(Duration::from_millis(50));
        loop {
            // Obtained before the look, so a child freed between the two
            // is not missed (`notify_one` keeps its ring for it).
            let freed = self.shared.freed.notified();
            {
                let mut idle = self.shared.idle.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(child) = idle.pop() {
                    let at_work = AtWork::new(&self.shared, child.child.id());
                    return Ok((child, at_work));
                }
                if self.shared.at_work.load(Ordering::SeqCst) == 0 {
                    return Err(IsolatedError::NotReady);
                }
            }
            tokio::select! {
                _ = freed => {}
                _ = cancel_check.tick() => if cancel.is_cancelled() {
                    return Err(IsolatedError::Cancelled);
                },
            }
        }
    }
}

/// A child taken for a job: counted in `at_work` and listed as busy
/// until this goes, after the child is back in `idle` or gone (killed,
/// its job's future dropped). Made and dropped under `idle`'s lock.
struct AtWork<'a> {
    shared: &'a Shared,
    pid: Option<u32>,
}

impl<'a> AtWork<'a> {
    /// Called with `idle`'s lock held.
    fn new(shared: &'a Shared, pid: Option<u32>) -> Self {
        shared.at_work.fetch_add(1, Ordering::SeqCst);
        if let Some(pid) = pid {
            shared
                .busy
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(pid);
        }
        AtWork { shared, pid }
    }

    /// Puts the child back in `idle`, no longer busy, in one step.
    fn give_back(self, child: ChildProcess) {
        let mut idle = self.shared.idle.lock().unwrap_or_else(|p| p.into_inner());
        self.unmark();
        idle.push(child);
        drop(idle);
        // Unmarked already: the drop would take `idle`'s lock again.
        std::mem::forget(self);
    }

    /// Called with `idle`'s lock held.
    fn unmark(&self) {
        if let Some(pid) = self.pid {
            self.shared
                .busy
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|p| *p != pid);
        }
        self.shared.at_work.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for AtWork<'_> {
    fn drop(&mut self) {
        let _idle = self.shared.idle.lock().unwrap_or_else(|p| p.into_inner());
        self.unmark();
    }
}

/// Keeps `size` children alive: starts one whenever one is gone.
async fn supervise(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut first_round = true;
    loop {
        while shared.live.load(Ordering::SeqCst) < shared.size {
            shared.live.fetch_add(1, Ordering::SeqCst);
            if !first_round {
                shared.restarts.fetch_add(1, Ordering::SeqCst);
            }
            let spawning = Arc::clone(&shared);
            tokio::spawn(async move {
                match ChildProcess::spawn(Arc::clone(&spawning)).await {
                    Ok(child) => {
                        spawning
                            .idle
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(child);
                        spawning.ready.notify_waiters();
                        spawning.freed.notify_one();
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not start a highlighting child; retrying in a second");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        spawning.live.fetch_sub(1, Ordering::SeqCst);
                        spawning.gone.notify_one();
                    }
                }
            });
        }
        first_round = false;
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = shared.gone.notified() => {}
        }
    }
    // Idle children exit when their stdin closes (dropped here).
    shared
        .idle
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clear();
}

impl ChildProcess {
    async fn spawn(shared: Arc<Shared>) -> io::Result<ChildProcess> {
        let mut child = Command::new(&shared.program)
            .arg(CHILD_FLAG)
            .envs(shared.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(io::Error::other("the child has no pipes"));
        };
        // A job reads at most a progress frame ahead of its answer.
        let (sender, frames) = mpsc::channel(4);
        tokio::spawn(read_frames(stdout, sender, Arc::clone(&shared)));
        let mut process = ChildProcess {
            child,
            stdin,
            frames,
            shared,
        };
        let started = Instant::now();
        match tokio::time::timeout(READY_TIMEOUT, process.next_frame()).await {
            Ok(Ok((b'R', _))) => {
                tracing::debug!(
                    ms = started.elapsed().as_millis() as u64,
                    "highlighting child ready"
                );
                Ok(process)
            }
            Ok(Ok((tag, _))) => Err(io::Error::other(format!(
                "the child said {:?} before it was ready",
                tag as char
            ))),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::other("the child did not get ready in time")),
        }
    }

    async fn next_frame(&mut self) -> io::Result<Frame> {
        self.frames
            .recv()
            .await
            .unwrap_or_else(|| Err(io::ErrorKind::UnexpectedEof.into()))
    }

    /// One job. `Err` means the child is unusable (crashed, killed, over
    /// its time); `Ok` carries the child's own answer.
    async fn run(
        &mut self,
        code: &str,
        language: &str,
        progress: &ProgressSink,
        cancel: &CancelFlag,
        budget: Duration,
    ) -> Result<Result<String, TreeSitterError>, IsolatedError> {
        let header = JobHeader {
            language: language.to_owned(),
            budget_ms: u64::try_from(budget.as_millis()).unwrap_or(u64::MAX),
        };
        let header = serde_json::to_vec(&header).expect("a job header serialises");
        let mut request = Vec::with_capacity(code.len() + header.len() + 16);
        request.push(b'J');
        push_body(&mut request, &header);
        push_body(&mut request, code.as_bytes());
        let crashed = |e: io::Error| IsolatedError::Crashed(e.to_string());
        self.stdin.write_all(&request).await.map_err(crashed)?;
        self.stdin.flush().await.map_err(crashed)?;
        let deadline = tokio::time::Instant::now() + budget + GRACE;
        let mut cancel_check = tokio::time::interval(Duration::from_millis(50));
        loop {
            let frame = loop {
                // Receiving is cancel-safe: frames are read whole by the
                // child's reader task, never half here.
                tokio::select! {
                    frame = self.next_frame() => break frame,
                    _ = tokio::time::sleep_until(deadline) => {
                        return Err(IsolatedError::Crashed("past its budget, killed".into()));
                    }
                    _ = cancel_check.tick() => {
                        // The child is still at work: it is killed (by
                        // the caller dropping it), not handed the next job.
                        if cancel.is_cancelled() {
                            return Err(IsolatedError::Cancelled);
                        }
                    }
                }
            };
            let (tag, body) = match frame {
                Ok(frame) => frame,
                Err(e) => {
                    let status = self.child.try_wait().ok().flatten();
                    return Err(IsolatedError::Crashed(match status {
                        Some(status) => status.to_string(),
                        None => e.to_string(),
                    }));
                }
            };
            match tag {
                b'P' if body.len() == 8 => progress.report(Progress {
                    done: u32::from_le_bytes(body[..4].try_into().unwrap_or_default()),
                    total: u32::from_le_bytes(body[4..].try_into().unwrap_or_default()),
                }),
                b'H' => {
                    return String::from_utf8(body)
                        .map(Ok)
                        .map_err(|_| IsolatedError::Crashed("its HTML is not UTF-8".into()));
                }
                b'E' => {
                    let error: ChildError = serde_json::from_slice(&body)
                        .map_err(|e| IsolatedError::Crashed(format!("unreadable error: {e}")))?;
                    return Ok(Err(error.into()));
                }
                other => {
                    return Err(IsolatedError::Crashed(format!(
                        "unexpected frame {:?}",
                        other as char
                    )));
                }
            }
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct JobHeader {
    language: String,
    budget_ms: u64,
}

/// A [`TreeSitterError`] on the wire.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
enum ChildError {
    Unsupported(String),
    TooCostly(String),
    Cancelled,
    Grammar(String),
}

impl From<&TreeSitterError> for ChildError {
    fn from(error: &TreeSitterError) -> Self {
        match error {
            TreeSitterError::Unsupported(l) => ChildError::Unsupported(l.clone()),
            TreeSitterError::TooCostly(why) => ChildError::TooCostly((*why).to_owned()),
            TreeSitterError::Cancelled => ChildError::Cancelled,
            TreeSitterError::Grammar(e) => ChildError::Grammar(e.clone()),
        }
    }
}

impl From<ChildError> for TreeSitterError {
    fn from(error: ChildError) -> Self {
        match error {
            ChildError::Unsupported(l) => TreeSitterError::Unsupported(l),
            ChildError::TooCostly(_) => TreeSitterError::TooCostly("over its time budget"),
            ChildError::Cancelled => TreeSitterError::Cancelled,
            ChildError::Grammar(e) => TreeSitterError::Grammar(e),
        }
    }
}

fn push_body(out: &mut Vec<u8>, body: &[u8]) {
    let len = u32::try_from(body.len()).expect("a frame is under 4 GiB");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(body);
}

/// Reads a child's frames for as long as its stdout is open (it closes
/// when the child exits or is killed). `W` is counted here, whenever it
/// comes; every other frame goes to the job at hand, or waits for the next
/// one.
async fn read_frames(
    stdout: ChildStdout,
    frames: mpsc::Sender<io::Result<Frame>>,
    shared: Arc<Shared>,
) {
    let mut reader = BufReader::new(stdout);
    loop {
        match read_frame(&mut reader).await {
            Ok((b'W', _)) => {
                shared.warmed.fetch_add(1, Ordering::SeqCst);
                shared.ready.notify_waiters();
            }
            Ok(frame) => {
                if frames.send(Ok(frame)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = frames.send(Err(e)).await;
                return;
            }
        }
    }
}

async fn read_frame(reader: &mut BufReader<ChildStdout>) -> io::Result<Frame> {
    let tag = reader.read_u8().await?;
    let len = reader.read_u32_le().await? as usize;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).await?;
    Ok((tag, body))
}

/// The child's life: limit its memory, say it is ready, compile every
/// grammar in the background in the quiet moments between jobs
/// (`quiet.rs`; then say it is warm), and highlight jobs
/// until its stdin closes. Runs instead of the server when the binary is
/// started with [`CHILD_FLAG`].
///
/// Ready comes first: compiling every grammar takes one to two seconds,
/// and a child that waited for it before its first job left every snippet
/// of a starting (or restarted) node to syntect, whose own grammars were
/// cold too: the slowest submits of a fresh server came from there. A job
/// whose grammar is not compiled yet compiles that one first, tens of
/// milliseconds, once.
pub fn child_main() -> std::process::ExitCode {
    limit_memory(CHILD_MEMORY_LIMIT);
    let crash_on = std::env::var(CRASH_ON_ENV).ok().filter(|m| !m.is_empty());
    let hang_on = std::env::var(HANG_ON_ENV).ok().filter(|m| !m.is_empty());
    // The child lives exactly as long as its engine.
    let engine: &'static TreeSitter = Box::leak(Box::default());
    let activity: &'static Activity = Box::leak(Box::default());
    let warming = std::thread::Builder::new()
        .name("warm-grammars".into())
        // At the lowest priority: at a node's start, under load, warming
        // at the jobs' priority took the CPU the first jobs needed. It
        // never holds a grammar a job waits for (`TreeSitter::warm`).
        .spawn(move || {
            yield_to_work();
            engine.warm(|| activity.wait_for_quiet(quiet::QUIET, quiet::AT_MOST));
            // A parent that is gone will not miss it.
            let _ = send_frame(b'W', &[]);
        });
    if let Err(e) = warming {
        // Every grammar still compiles when its first job needs it.
        let _ = writeln!(io::stderr(), "highlighting child: no warming thread: {e}");
    }
    let stdin = io::stdin();
    let mut input = io::BufReader::new(stdin.lock());
    if send_frame(b'R', &[]).is_err() {
        return std::process::ExitCode::FAILURE;
    }
    loop {
        let job = match read_job(&mut input) {
            Ok(Some(job)) => job,
            // The parent closed our stdin: it is done with us.
            Ok(None) => return std::process::ExitCode::SUCCESS,
            Err(_) => return std::process::ExitCode::FAILURE,
        };
        let (header, code) = job;
        activity.job_started();
        let mut last_progress = Instant::now();
        let mut progress_error = false;
        let result = {
            let mut report = |p: Progress| {
                if last_progress.elapsed() >= PROGRESS_EVERY {
                    last_progress = Instant::now();
                    let mut body = [0u8; 8];
                    body[..4].copy_from_slice(&p.done.to_le_bytes());
                    body[4..].copy_from_slice(&p.total.to_le_bytes());
                    progress_error |= send_frame(b'P', &body).is_err();
                }
            };
            let mut run = Run {
                deadline: Instant::now() + Duration::from_millis(header.budget_ms),
                cancelled: &|| false,
                progress: &mut report,
            };
            let code = String::from_utf8_lossy(&code);
            if let Some(marker) = &crash_on
                && code.contains(marker.as_str())
            {
                // SAFETY: restoring SIGSEGV's default action (Rust's own
                // handler, there for stack overflows, would otherwise
                // return) and raising it in our own process, which ends
                // it as a grammar's bad read would.
                unsafe {
                    libc::signal(libc::SIGSEGV, libc::SIG_DFL);
                    libc::raise(libc::SIGSEGV);
                }
            }
            if let Some(marker) = &hang_on
                && code.contains(marker.as_str())
            {
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            }
            engine.highlight(&code, &header.language, &mut run)
        };
        let written = match &result {
            Ok(html) => send_frame(b'H', html.as_bytes()),
            Err(e) => {
                let body = serde_json::to_vec(&ChildError::from(e)).unwrap_or_default();
                send_frame(b'E', &body)
            }
        };
        activity.job_ended();
        if progress_error || written.is_err() {
            return std::process::ExitCode::FAILURE;
        }
    }
}

fn read_job(input: &mut impl Read) -> io::Result<Option<(JobHeader, Vec<u8>)>> {
    let mut tag = [0u8; 1];
    match input.read_exact(&mut tag) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    if tag[0] != b'J' {
        return Err(io::Error::other("not a job"));
    }
    let header = read_body(input)?;
    let header: JobHeader = serde_json::from_slice(&header).map_err(io::Error::other)?;
    let code = read_body(input)?;
    Ok(Some((header, code)))
}

fn read_body(input: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let mut body = vec![0; u32::from_le_bytes(len) as usize];
    input.read_exact(&mut body)?;
    Ok(body)
}

/// Writes one frame to the parent. The job loop and the warming thread
/// both write: each frame goes out whole under a lock, so the two never
/// interleave.
///
/// It goes out in one write, to stdout's file itself: std's `Stdout` is
/// line-buffered, and wrote a frame of HTML as two (up to its last
/// newline, then the rest on flush), so the parent woke for half a frame
/// and again for the rest.
fn send_frame(tag: u8, body: &[u8]) -> io::Result<()> {
    static OUTPUT: OnceLock<io::Result<Mutex<std::fs::File>>> = OnceLock::new();
    let output = OUTPUT
        .get_or_init(|| {
            let fd = std::os::fd::AsFd::as_fd(&io::stdout()).try_clone_to_owned()?;
            Ok(Mutex::new(std::fs::File::from(fd)))
        })
        .as_ref()
        .map_err(|e| io::Error::new(e.kind(), e.to_string()))?;
    let mut frame = Vec::with_capacity(body.len() + 5);
    frame.push(tag);
    push_body(&mut frame, body);
    let mut output = output
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    output.write_all(&frame)
}

/// Lowers the calling thread's priority to the least: warming is worth
/// doing only with CPU no job (here or in the server) wants. On Linux a
/// priority set with `who = 0` is the calling thread's alone.
fn yield_to_work() {
    // SAFETY: setpriority only changes the scheduling weight of this thread.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}

/// Caps the address space of this process: a grammar that runs away with
/// memory fails its allocation instead of starving the machine.
fn limit_memory(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct we pass and changes only this
    // process's limits.
    let failed = unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) } != 0;
    if failed {
        let _ = writeln!(
            io::stderr(),
            "highlighting child: could not limit its memory: {}",
            io::Error::last_os_error()
        );
    }
}
