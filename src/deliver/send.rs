//! The send run: every pending recipient of an issue, through a pool of
//! connections, with each acceptance committed to the ledger before that
//! connection carries its next message.
//!
//! Threads: a feeder claims pending recipients from the store batch by batch
//! under a lease (an unsubscribe recorded meanwhile is seen at the next
//! batch; another sender sharing the database claims other batches);
//! builder threads, one per core, build and sign those recipients' messages
//! a few ahead; `concurrency` workers each own one connection; a ledger thread commits the
//! workers' outcomes in groups, tells each worker when its outcome is
//! durable, and renews the lease on what this sender holds. So after a crash
//! at most the one message in flight per connection can go twice, and none
//! is ever marked sent without the server's acceptance; a dead sender's
//! unsent rows come back to the others when its lease runs out.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use lettre::transport::smtp::extension::ClientId;
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

use crate::deliver::dkim::Signer;
use crate::deliver::interrupt::Interrupts;
use crate::deliver::message::{Frame, IssueHeaders};
use crate::deliver::smtp::{Connection, SendError};
use crate::deliver::store::{Location, Outcome, Store, Subscriber, wall_ms};
use crate::deliver::token::Secret;
use crate::deliver::transport::{Relay, SmtpTarget, Transport};
use crate::render::email::EmailBody;
use crate::render::personal::Recipient;

/// Recipients claimed from the database at most at a time.
const PAGE: usize = 500;

/// Everything that makes one recipient's message.
pub struct MessageFactory {
    pub headers: IssueHeaders,
    pub body: EmailBody,
    pub secret: Secret,
    pub signer: Option<Signer>,
    pub date: SystemTime,
    /// What all the messages share, formatted once (see [`Frame`]).
    frame: Option<Frame>,
}

/// One recipient's finished message: the DKIM-Signature fields that go
/// before it (empty when unsigned), the message, and its SMTP envelope.
pub struct Built {
    pub signature: String,
    pub message: String,
    pub envelope: lettre::address::Envelope,
}

impl Built {
    /// The two pieces, as they go out one after the other.
    fn parts(&self) -> [&str; 2] {
        [&self.signature, &self.message]
    }
}

impl MessageFactory {
    pub fn new(
        headers: IssueHeaders,
        body: EmailBody,
        secret: Secret,
        signer: Option<Signer>,
        date: SystemTime,
    ) -> MessageFactory {
        let frame = headers.frame(date);
        MessageFactory { headers, body, secret, signer, date, frame }
    }

    /// The finished message for `subscriber`.
    pub fn build(&self, subscriber: &Subscriber) -> Result<Built> {
        let (unsubscribe_url, preferences_url) =
            self.headers.reader_urls(&self.secret, subscriber.id, &subscriber.email);
        let recipient = Recipient {
            unsubscribe_url,
            preferences_url,
            email: subscriber.email.clone(),
            name: subscriber.name.clone(),
            fields: subscriber.fields.clone(),
        };
        let (message, envelope) = match &self.frame {
            Some(frame) => {
                let mut message = String::new();
                let envelope = frame.write(&self.body, &recipient, &mut message)?;
                (message, envelope)
            }
            None => {
                let message = self.headers.message(&self.body, &recipient, self.date)?;
                let bytes = String::from_utf8(message.formatted())
                    .map_err(|_| anyhow::anyhow!("the message of {} is not UTF-8", subscriber.email))?;
                (bytes, message.envelope().clone())
            }
        };
        let signature = match &self.signer {
            Some(signer) => signer.fields(message.as_bytes(), self.date)?,
            None => String::new(),
        };
        Ok(Built { signature, message, envelope })
    }
}

/// How the run behaves.
#[derive(Debug, Clone)]
pub struct Options {
    pub issue: u32,
    pub concurrency: usize,
    pub rate_per_sec: Option<f64>,
    pub max_attempts: u32,
    pub backoff: Duration,
    pub progress: bool,
    /// Who this sender is in the ledger (`PUBLISH_SENDER`, else host:pid).
    pub sender: String,
    /// How long a claimed batch stays this sender's without renewal.
    pub lease: Duration,
    /// How long a failing relay is left out (a send through several relays).
    pub cooldown: Duration,
}

/// What the run did.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub sent: u64,
    pub duration: Duration,
    /// Set when the run stopped early (server unreachable); the rest stays pending.
    pub aborted: Option<String>,
    /// Each relay's part, when the send has several.
    pub relays: Vec<RelayStats>,
}

/// What one relay of several did in a run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RelayStats {
    pub name: String,
    /// Messages it accepted in this run.
    pub sent: u64,
    /// How many times it was taken out for a cool-down.
    pub cool_downs: u32,
    /// What went wrong last, if anything did.
    pub last_failure: Option<String>,
}

/// A recipient on its way with its message, built and signed ahead by a
/// builder thread (so a message handed back by a failing relay is not built
/// and signed again), or why it could not be built.
struct Job {
    subscriber: Subscriber,
    attempts: u32,
    built: Result<Built, String>,
}

struct Ack {
    subscriber: i64,
    attempts: u32,
    outcome: Outcome,
    done: oneshot::Sender<Result<(), String>>,
}

/// One way out with its own connections and pace: the one transport, or one
/// relay of several.
struct Lane {
    /// The relay's name, when the send has several (the ledger records it).
    name: Option<String>,
    transport: Transport,
    concurrency: usize,
    weight: u32,
    throttle: Throttle,
    /// Failures of the relay's session since it last accepted a message.
    strikes: AtomicU32,
    sent: AtomicU64,
    cool_downs: AtomicU32,
    last_failure: std::sync::Mutex<Option<String>>,
    /// Connections of this lane open now.
    open: AtomicUsize,
    /// A worker gave way to the open connections (see [`Step::GiveWay`]).
    gave_way: AtomicBool,
}

struct Shared {
    options: Options,
    lanes: Vec<Lane>,
    /// Several relays: one that fails is taken out for a while and its
    /// messages go to the others, instead of the run stopping.
    failover: bool,
    /// `[email] rate_per_sec` over all relays together (several relays only;
    /// with one transport it is that lane's own pace).
    ceiling: Throttle,
    breaker: Breaker,
    acks: std::sync::mpsc::Sender<Ack>,
    abort: AtomicBool,
    abort_reason: std::sync::Mutex<Option<String>>,
    sent: AtomicU64,
    progress: indicatif::ProgressBar,
    hello: ClientId,
    jobs: Mutex<mpsc::Receiver<Job>>,
    turns: std::sync::Mutex<Turns>,
    /// Told when a turn, a cool-down or the end of the run may have changed.
    changed: Notify,
}

/// Whose turn it is: each lane's pass grows by 1/weight for every message it
/// takes, and a lane takes the next only while its pass is the lowest of the
/// lanes in service (stride scheduling), so that the messages go out in the
/// proportion of the weights. Messages handed back by a failing relay wait
/// here for another.
struct Turns {
    pass: Vec<f64>,
    cooling_until: Vec<Option<tokio::time::Instant>>,
    returned: VecDeque<Box<Job>>,
    /// Messages taken and not yet recorded or handed back.
    held: usize,
    /// The feeder has no more recipients.
    fed: bool,
}

/// What a lane's worker may do now.
enum Turn {
    /// A message handed back by another relay, or `None`: take the next from the feeder.
    Take(Option<Box<Job>>),
    Wait(Option<tokio::time::Instant>),
    Done,
}

impl Turns {
    fn in_service(&self, lane: usize, now: tokio::time::Instant) -> bool {
        self.cooling_until[lane].is_none_or(|until| until <= now)
    }

    /// Brings lanes whose cool-down is over back into service, level with the others.
    fn refresh(&mut self, now: tokio::time::Instant) {
        for lane in 0..self.pass.len() {
            if self.cooling_until[lane].is_some_and(|until| until <= now) {
                self.cooling_until[lane] = None;
                let others = (0..self.pass.len())
                    .filter(|&l| l != lane && self.in_service(l, now))
                    .map(|l| self.pass[l])
                    .fold(f64::INFINITY, f64::min);
                if others.is_finite() {
                    self.pass[lane] = self.pass[lane].max(others);
                }
            }
        }
    }

    fn next(&mut self, lane: usize, weight: u32) -> Turn {
        let now = tokio::time::Instant::now();
        self.refresh(now);
        // At the end turns no longer count: the lane with the lowest pass may have finished.
        if self.fed && self.returned.is_empty() {
            return if self.held == 0 { Turn::Done } else { Turn::Wait(None) };
        }
        if let Some(until) = self.cooling_until[lane] {
            return Turn::Wait(Some(until));
        }
        let lowest = (0..self.pass.len())
            .filter(|&l| self.in_service(l, now))
            .map(|l| self.pass[l])
            .fold(f64::INFINITY, f64::min);
        if self.pass[lane] > lowest + 1e-9 {
            return Turn::Wait(None);
        }
        if let Some(job) = self.returned.pop_front() {
            self.took(lane, weight);
            return Turn::Take(Some(job));
        }
        self.took(lane, weight);
        Turn::Take(None)
    }

    fn took(&mut self, lane: usize, weight: u32) {
        self.pass[lane] += 1.0 / f64::from(weight);
        self.held += 1;
    }
}

/// Sends issue `options.issue` to its pending recipients.
pub fn run(
    location: &Location,
    factory: MessageFactory,
    transport: Transport,
    options: Options,
    pending: u64,
) -> Result<RunStats> {
    let started = Instant::now();
    let progress = if options.progress && !crate::diag::quiet() {
        let bar = indicatif::ProgressBar::new(pending);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} sent · {per_sec} · ETA {eta} {msg}")
                .expect("valid template"),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let (ack_tx, ack_rx) = std::sync::mpsc::channel::<Ack>();
    let issue = options.issue;
    let claimer = format!("{} (pid {}, {})", options.sender, std::process::id(), wall_ms());
    let lease = Lease { sender: options.sender.clone(), claimer, length: options.lease };
    let (ledger_at, ledger_lease) = (location.clone(), lease.clone());
    let ledger = std::thread::Builder::new()
        .name("ledger".into())
        .spawn(move || ledger_loop(&ledger_at, issue, &ledger_lease, ack_rx))?;

    let (failover, lanes, ceiling) = lanes(transport, &options);
    let connections: usize = lanes.iter().map(|l| l.concurrency).sum();
    let (recipient_tx, recipient_rx) = mpsc::channel::<Subscriber>(connections * 2 + 16);
    let (feeder_at, feeder_lease) = (location.clone(), lease.clone());
    let batch = (connections * 4).clamp(16, PAGE);
    let closed = Arc::new(AtomicBool::new(false));
    let feeder_closed = Arc::clone(&closed);
    let feeder = std::thread::Builder::new()
        .name("feeder".into())
        .spawn(move || feed(&feeder_at, issue, &feeder_lease, batch, recipient_tx, &feeder_closed))?;

    // Messages are built and signed on threads of their own, one per core,
    // ahead of the connections: the signing (an RSA signature is most of a
    // message's cost) then keeps every core busy while the workers wait on
    // the server and the ledger. The queue between holds a few messages per
    // connection, so memory stays flat whatever the list's size.
    let hello = ClientId::Domain(factory.headers.domain.clone());
    let (job_tx, job_rx) = mpsc::channel::<Job>(connections * 2 + 8);
    let factory = Arc::new(factory);
    let recipients = Arc::new(std::sync::Mutex::new(recipient_rx));
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut builders = Vec::new();
    for _ in 0..cores.clamp(1, 8).min(connections.max(1)) {
        let (factory, recipients, jobs) = (Arc::clone(&factory), Arc::clone(&recipients), job_tx.clone());
        builders.push(
            std::thread::Builder::new()
                .name("builder".into())
                .spawn(move || build_ahead(&factory, &recipients, &jobs))?,
        );
    }
    drop((job_tx, recipients));
    let shared = Arc::new(Shared {
        turns: std::sync::Mutex::new(Turns {
            pass: vec![0.0; lanes.len()],
            cooling_until: vec![None; lanes.len()],
            returned: VecDeque::new(),
            held: 0,
            fed: false,
        }),
        lanes,
        failover,
        ceiling,
        breaker: Breaker::new(options.max_attempts, connections),
        options,
        acks: ack_tx,
        abort: AtomicBool::new(false),
        abort_reason: std::sync::Mutex::new(None),
        sent: AtomicU64::new(0),
        progress,
        hello,
        jobs: Mutex::new(job_rx),
        changed: Notify::new(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let interrupts = Interrupts::catch();
    let worker_results: Vec<Result<()>> = runtime.block_on(async {
        let watcher = tokio::spawn(watch(Arc::clone(&shared), interrupts));
        let mut handles = Vec::new();
        for (lane, l) in shared.lanes.iter().enumerate() {
            for _ in 0..l.concurrency {
                handles.push(tokio::spawn(worker(Arc::clone(&shared), lane)));
            }
        }
        let mut results = Vec::new();
        for h in handles {
            results.push(h.await.unwrap_or_else(|e| Err(anyhow::anyhow!("a send worker crashed: {e}"))));
        }
        watcher.abort();
        let _ = watcher.await;
        results
    });
    let shared = Arc::into_inner(shared).expect("workers are done");
    // Close the job queue so the builders and the feeder stop, then let the ledger drain.
    closed.store(true, Ordering::Relaxed);
    drop(shared.jobs);
    let feed_result = feeder.join().map_err(|_| anyhow::anyhow!("the recipient feeder crashed"))?;
    for builder in builders {
        builder.join().map_err(|_| anyhow::anyhow!("a message builder crashed"))?;
    }
    shared.progress.finish_and_clear();
    let relays = if shared.failover {
        shared
            .lanes
            .iter()
            .map(|l| RelayStats {
                name: l.name.clone().unwrap_or_default(),
                sent: l.sent.load(Ordering::Relaxed),
                cool_downs: l.cool_downs.load(Ordering::Relaxed),
                last_failure: l.last_failure.lock().expect("lane lock").clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let stats = RunStats {
        sent: shared.sent.load(Ordering::Relaxed),
        duration: started.elapsed(),
        aborted: shared.abort_reason.lock().expect("abort lock").clone(),
        relays,
    };
    drop(shared.acks);
    let lost = |e: anyhow::Error| database_lost(e, location, issue, connections);
    ledger.join().map_err(|_| anyhow::anyhow!("the ledger writer crashed"))?.map_err(lost)?;
    // What this sender claimed and did not send (a stopped run) goes back now,
    // not when the lease runs out.
    Store::open(location).and_then(|mut store| store.release(issue, Some(&lease.claimer))).map_err(lost)?;
    for r in worker_results {
        r?;
    }
    feed_result.map_err(lost)?;
    Ok(stats)
}

/// The error of a run whose state database stopped answering (a restart, a
/// failover, the network): what became of the messages, and what to do.
fn database_lost(e: anyhow::Error, location: &Location, issue: u32, connections: usize) -> anyhow::Error {
    e.context(format!(
        "sending issue {issue} stopped: the state database {} stopped answering. No message is recorded as sent \
         that the server did not accept; the ones on the wire then (at most {connections}, one per connection) \
         may go twice. Run `publish issue {issue}` again once the database answers (`publish cron` resumes the \
         send by itself)",
        location.describe()
    ))
}

/// The lanes of a transport: one per relay (with failover), or the one
/// transport with `[email]`'s concurrency and pace. Also the pace over all.
fn lanes(transport: Transport, options: &Options) -> (bool, Vec<Lane>, Throttle) {
    let lane = |name, transport, concurrency, weight, rate| Lane {
        name,
        transport,
        concurrency,
        weight,
        throttle: Throttle::new(rate),
        strikes: AtomicU32::new(0),
        sent: AtomicU64::new(0),
        cool_downs: AtomicU32::new(0),
        last_failure: std::sync::Mutex::new(None),
        open: AtomicUsize::new(0),
        gave_way: AtomicBool::new(false),
    };
    match transport {
        Transport::Relays(relays) => {
            let lanes = relays
                .into_iter()
                .map(|r| {
                    lane(Some(r.name), Transport::Smtp(r.target), r.concurrency.max(1), r.weight.max(1), r.rate_per_sec)
                })
                .collect();
            (true, lanes, Throttle::new(options.rate_per_sec))
        }
        one => (false, vec![lane(None, one, options.concurrency.max(1), 1, options.rate_per_sec)], Throttle::new(None)),
    }
}

/// Who holds claimed rows, and for how long at a time.
#[derive(Debug, Clone)]
struct Lease {
    /// The sender's name, kept with each message it sent (`sent_by`).
    sender: String,
    /// This run's own hold on the rows it claims (`claimed_by`): the name, the
    /// process and when it started. Two runs under one name (a machine's next
    /// run after a crash, one name in a shared publish.toml) are still two,
    /// so that neither takes the other's live rows for its own.
    claimer: String,
    length: Duration,
}

impl Lease {
    fn until(&self, now_ms: i64) -> i64 {
        now_ms + self.length.as_millis() as i64
    }
}

/// Claims the issue's pending, still-active recipients batch by batch and
/// streams them into the job queue. When every row left is claimed by
/// another sender, waits for those leases: a live sender finishes its rows
/// (then nothing is left), a dead one's rows come back when its lease runs
/// out. So the wait lasts as long as the other senders' work at most.
fn feed(
    location: &Location,
    issue: u32,
    lease: &Lease,
    batch_size: usize,
    jobs: mpsc::Sender<Subscriber>,
    closed: &AtomicBool,
) -> Result<()> {
    let mut store = Store::open(location)?;
    // Batch numbers start at the clock, so that a later run under the same
    // sender name never takes an earlier run's batch for its own.
    let mut batch = wall_ms();
    loop {
        batch += 1;
        let now = store.lease_clock_ms()?;
        let page = store.claim(issue, &lease.claimer, batch, batch_size, now, lease.until(now))?;
        if page.is_empty() {
            let Some(expiry) = store.next_expiry(issue, &lease.claimer, now)? else { return Ok(()) };
            let wait = (expiry - now + 20).clamp(20, 1000);
            std::thread::sleep(Duration::from_millis(wait as u64));
            if jobs.is_closed() || closed.load(Ordering::Relaxed) {
                return Ok(());
            }
            continue;
        }
        for subscriber in page {
            if jobs.blocking_send(subscriber).is_err() {
                return Ok(());
            }
        }
    }
}

/// Builds and signs each recipient's message as the feeder hands them out,
/// until the feeder is done or the workers are gone.
fn build_ahead(
    factory: &MessageFactory,
    recipients: &std::sync::Mutex<mpsc::Receiver<Subscriber>>,
    jobs: &mpsc::Sender<Job>,
) {
    loop {
        let next = recipients.lock().map(|mut r| r.blocking_recv());
        let Ok(Some(subscriber)) = next else { return };
        let built = factory.build(&subscriber).map_err(|e| format!("{e:#}"));
        if jobs.blocking_send(Job { subscriber, attempts: 0, built }).is_err() {
            return;
        }
    }
}

/// Commits outcomes as they come, in groups, and tells each worker when its
/// outcome is durable; renews this sender's lease a few times per lease.
fn ledger_loop(location: &Location, issue: u32, lease: &Lease, acks: std::sync::mpsc::Receiver<Ack>) -> Result<()> {
    let mut store = Store::open(location)?;
    store.as_send_ledger()?;
    let renew_every = lease.length / 3;
    let mut renewed = Instant::now();
    loop {
        let first = match acks.recv_timeout(renew_every) {
            Ok(ack) => Some(ack),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        };
        if renewed.elapsed() >= renew_every {
            store.renew(issue, &lease.claimer, lease.until(store.lease_clock_ms()?))?;
            renewed = Instant::now();
        }
        let Some(first) = first else { continue };
        let mut batch = vec![first];
        while let Ok(more) = acks.try_recv() {
            batch.push(more);
        }
        let rows: Vec<(i64, u32, Outcome)> =
            batch.iter().map(|a| (a.subscriber, a.attempts, a.outcome.clone())).collect();
        let now = crate::clock::now()?.to_string();
        let result = store.record(issue, &rows, &lease.sender, &now).map_err(|e| format!("{e:#}"));
        for ack in batch {
            let _ = ack.done.send(result.clone());
        }
        if let Err(e) = result {
            anyhow::bail!("cannot record sends in {}: {e}", store.describe());
        }
    }
}

/// Stops the run when a signal asks (see [`Interrupts`]): no message is
/// taken after it, and each one on the wire is answered and recorded first.
/// The signals are caught until the run is over.
async fn watch(shared: Arc<Shared>, interrupts: Interrupts) {
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Some(signal) = interrupts.asked() {
            let held = shared.turns.lock().expect("turns lock").held;
            tracing::warn!(
                "{signal}: stopping once the {held} message(s) on the wire are answered (again to quit now)"
            );
            stop(&shared, format!("interrupted by {signal}; every message the server accepted is recorded"));
            // Caught until the workers are done: a second signal ends the process.
            std::future::pending::<()>().await;
        }
    }
}

async fn worker(shared: Arc<Shared>, lane: usize) -> Result<()> {
    let mut conn: Option<Connection> = None;
    let result = worker_loop(&shared, lane, &mut conn).await;
    if let Err(e) = &result {
        // The others must not wait for this worker's turns.
        stop(&shared, format!("{e:#}"));
    }
    if let Some(c) = conn {
        shared.lanes[lane].open.fetch_sub(1, Ordering::Relaxed);
        c.quit().await;
    }
    result
}

/// The next recipient for a worker of `lane`, when it is that lane's turn;
/// `None` when the run is over (or stopped).
async fn next_job(shared: &Shared, lane: usize) -> Option<Job> {
    let weight = shared.lanes[lane].weight;
    loop {
        if shared.abort.load(Ordering::Relaxed) {
            return None;
        }
        let notified = shared.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let turn = shared.turns.lock().expect("turns lock").next(lane, weight);
        match turn {
            Turn::Done => return None,
            Turn::Take(Some(job)) => return Some(*job),
            Turn::Take(None) => {
                let next = shared.jobs.lock().await.recv().await;
                if let Some(job) = next {
                    return Some(job);
                }
                let mut turns = shared.turns.lock().expect("turns lock");
                turns.fed = true;
                turns.pass[lane] -= 1.0 / f64::from(weight);
                turns.held -= 1;
                drop(turns);
                shared.changed.notify_waiters();
            }
            // Waits are bounded: a missed wake-up costs a quarter of a second.
            Turn::Wait(until) => {
                let until = until.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_millis(250));
                tokio::select! {
                    _ = tokio::time::sleep_until(until) => {}
                    _ = notified => {}
                }
            }
        }
    }
}

/// A message's fate on one lane.
enum Step {
    Done(Outcome),
    /// Not this relay's to send now: another takes it.
    HandBack,
    /// The run stops; the recipient stays pending.
    Stop,
    /// The server would not take one more connection while others of this
    /// lane are open (a per-client limit below `concurrency`): the message
    /// goes to those, and this worker ends.
    GiveWay,
}

async fn worker_loop(shared: &Shared, lane: usize, conn: &mut Option<Connection>) -> Result<()> {
    while let Some(job) = next_job(shared, lane).await {
        if shared.abort.load(Ordering::Relaxed) {
            // Stopped while this worker waited for the job: it stays pending.
            let_go(shared, None);
            return Ok(());
        }
        let Job { subscriber, mut attempts, built } = job;
        let built = match built {
            Ok(built) => built,
            Err(e) => {
                let outcome = Outcome::Failed { reply: format!("not sent: {e}") };
                record(shared, lane, &subscriber, 0, outcome).await?;
                continue;
            }
        };
        match attempt(shared, lane, conn, &subscriber, &built, &mut attempts).await {
            Step::Done(outcome) => record(shared, lane, &subscriber, attempts, outcome).await?,
            step @ (Step::HandBack | Step::GiveWay) => {
                let_go(shared, Some(Job { subscriber, attempts, built: Ok(built) }));
                if matches!(step, Step::GiveWay) {
                    return Ok(());
                }
            }
            Step::Stop => {
                let_go(shared, None);
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Ends a worker's hold on a recipient, handing its `job` back for another
/// worker when given, and tells the others.
fn let_go(shared: &Shared, job: Option<Job>) {
    let mut turns = shared.turns.lock().expect("turns lock");
    if let Some(job) = job {
        turns.returned.push_back(Box::new(job));
    }
    turns.held -= 1;
    drop(turns);
    shared.changed.notify_waiters();
}

/// Tries one message on `lane` until it is accepted, refused, handed back or the run stops.
async fn attempt(
    shared: &Shared,
    lane_index: usize,
    conn: &mut Option<Connection>,
    subscriber: &Subscriber,
    built: &Built,
    attempt: &mut u32,
) -> Step {
    let opts = &shared.options;
    let lane = &shared.lanes[lane_index];
    loop {
        *attempt += 1;
        // A slowed-down pace can hold a message for seconds: not past a stop.
        let paced = async {
            shared.ceiling.acquire().await;
            lane.throttle.acquire().await;
        };
        // Biased: when the pace lets the message go at once (the usual case),
        // the stop is never polled, so no waiter is registered per message.
        tokio::select! {
            biased;
            () = paced => {}
            () = stopped(shared) => return Step::Stop,
        }
        let opening = conn.is_none();
        let result = deliver(
            &lane.transport,
            &shared.hello,
            conn,
            subscriber,
            &built.parts(),
            &built.envelope,
            Some(&lane.open),
        )
        .await;
        let error = match result {
            Ok(reply) => {
                lane.throttle.succeeded().await;
                lane.strikes.store(0, Ordering::Relaxed);
                shared.breaker.accepted();
                return Step::Done(Outcome::Sent { reply, relay: lane.name.clone() });
            }
            Err(e) => e,
        };
        if conn.as_ref().is_some_and(|c| !c.is_usable()) {
            close(lane, conn);
        }
        if opening
            && conn.is_none()
            && matches!(error, SendError::Connection(_))
            && lane.open.load(Ordering::Relaxed) > 0
        {
            // The message was not tried: it goes to a connection that is open.
            *attempt -= 1;
            give_way(lane, &error);
            return Step::GiveWay;
        }
        match error {
            SendError::Permanent(reply) if crate::deliver::smtp::is_hard_bounce(&reply) => {
                if shared.breaker.bounced() {
                    // Not this recipient's fault, most likely: left pending, not bounced.
                    let why = format!(
                        "the server called {BREAKER_LIMIT} addresses in a row unknown and accepted none between ({}): \
                         check that this server relays mail for you (PUBLISH_SMTP_URL or [email]); the {} before \
                         this one are marked bounced (`publish subscribers show` lists them)",
                        without_addresses(&reply),
                        BREAKER_LIMIT - 1
                    );
                    stop(shared, why);
                    return Step::Stop;
                }
                return Step::Done(Outcome::Bounced { reply });
            }
            SendError::Permanent(reply) | SendError::Content(reply) => {
                if shared.breaker.refused() {
                    let why = format!("the server refused {BREAKER_LIMIT} messages in a row ({reply})");
                    stop(shared, why);
                }
                return Step::Done(Outcome::Failed { reply });
            }
            SendError::Refused(reason) if shared.failover => {
                strike(shared, lane_index, reason, true);
                return Step::HandBack;
            }
            SendError::Refused(reason) => {
                stop(shared, reason);
                return Step::Stop;
            }
            SendError::Transient { reply, slow_down, to_sender } => {
                if slow_down {
                    lane.throttle.slow_down().await;
                }
                if shared.failover && reply.starts_with("421") {
                    // The relay closes the door for now: the message tries another.
                    strike(shared, lane_index, reply, false);
                    return Step::HandBack;
                }
                if !to_sender && shared.breaker.deferred() {
                    let why = format!(
                        "the server deferred {} tries in a row and accepted nothing between ({}): a sending quota, \
                         a rate limit or greylisting; run `publish issue {}` again later (`publish cron` resumes it \
                         by itself)",
                        shared.breaker.deferral_limit,
                        without_addresses(&reply),
                        opts.issue
                    );
                    stop(shared, why);
                    return Step::Stop;
                }
                if *attempt >= opts.max_attempts {
                    if to_sender && shared.failover {
                        strike(shared, lane_index, format!("{reply} (after {attempt} attempts)"), true);
                        return Step::HandBack;
                    }
                    if to_sender {
                        stop(shared, format!("{reply} (after {attempt} attempts)"));
                        return Step::Stop;
                    }
                    return Step::Done(Outcome::Failed {
                        reply: format!("{reply} (gave up after {attempt} attempts)"),
                    });
                }
            }
            SendError::Connection(reason) => {
                close(lane, conn);
                if shared.failover {
                    strike(shared, lane_index, reason, false);
                    return Step::HandBack;
                }
                if *attempt >= opts.max_attempts {
                    stop(shared, format!("{reason} (after {attempt} attempts)"));
                    return Step::Stop;
                }
            }
        }
        let wait = opts.backoff.saturating_mul(1 << (*attempt - 1).min(6));
        if !pause(shared, wait).await {
            return Step::Stop;
        }
    }
}

/// Waits `wait` before a message is tried again, or less when the run stops
/// meanwhile (a signal, another worker's stop): false then.
async fn pause(shared: &Shared, wait: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(wait) => !shared.abort.load(Ordering::Relaxed),
        _ = stopped(shared) => false,
    }
}

/// Ready once the run is stopped.
async fn stopped(shared: &Shared) {
    loop {
        let notified = shared.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if shared.abort.load(Ordering::Relaxed) {
            return;
        }
        notified.await;
    }
}

/// Drops `lane`'s connection `conn` (if open).
fn close(lane: &Lane, conn: &mut Option<Connection>) {
    if conn.take().is_some() {
        lane.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Notes a worker of `lane` giving way to its open connections; the first
/// says so, since `concurrency` (or the relay's) is then above what the
/// server takes from this machine.
fn give_way(lane: &Lane, error: &SendError) {
    if !lane.gave_way.swap(true, Ordering::Relaxed) {
        let name = lane.name.as_deref().map_or(String::new(), |n| format!("relay {n}: "));
        let reason = match error {
            SendError::Connection(r) => r.as_str(),
            _ => "",
        };
        let setting = if lane.name.is_some() { "the relay's concurrency" } else { "[email] concurrency" };
        tracing::warn!(
            "{name}the server takes no more connections from here ({reason}); the send goes on over the {} \
             open (lower {setting} in publish.toml to what the server allows)",
            lane.open.load(Ordering::Relaxed)
        );
    }
}

/// Failures of a relay's session in a row (nothing accepted between) that
/// take it out for a cool-down: it could not be reached, timed out, dropped
/// the connection or answered 421.
const STRIKES: u32 = 3;

/// Counts a failure of `lane`'s session; at [`STRIKES`] in a row, or `at_once`
/// (it refused the session, the login or the sender), the relay is taken out
/// for the cool-down and its messages go to the others. When every relay is
/// out at once the run stops, everyone not yet sent left pending.
fn strike(shared: &Shared, lane_index: usize, reason: String, at_once: bool) {
    let lane = &shared.lanes[lane_index];
    let name = lane.name.as_deref().unwrap_or("the server");
    *lane.last_failure.lock().expect("lane lock") = Some(reason.clone());
    let strikes = lane.strikes.fetch_add(1, Ordering::Relaxed) + 1;
    if !at_once && strikes < STRIKES {
        return;
    }
    let mut turns = shared.turns.lock().expect("turns lock");
    let now = tokio::time::Instant::now();
    if !turns.in_service(lane_index, now) {
        return;
    }
    turns.cooling_until[lane_index] = Some(now + shared.options.cooldown);
    lane.strikes.store(0, Ordering::Relaxed);
    lane.cool_downs.fetch_add(1, Ordering::Relaxed);
    tracing::warn!("relay {name} is left out for {:?}: {reason}", shared.options.cooldown);
    let all_out = (0..shared.lanes.len()).all(|l| !turns.in_service(l, now));
    drop(turns);
    if all_out {
        let reasons: Vec<String> = shared
            .lanes
            .iter()
            .map(|l| {
                let why = l.last_failure.lock().expect("lane lock").clone().unwrap_or_default();
                format!("{}: {why}", l.name.as_deref().unwrap_or_default())
            })
            .collect();
        stop(shared, format!("every relay failed and is cooling down ({})", reasons.join("; ")));
    }
    shared.changed.notify_waiters();
}

/// Stops the run: no worker takes another recipient; the first reason is kept.
fn stop(shared: &Shared, reason: String) {
    shared.abort.store(true, Ordering::Relaxed);
    shared.abort_reason.lock().expect("abort lock").get_or_insert(reason);
    shared.changed.notify_waiters();
}

/// How many refused messages in a row (nothing accepted between) stop a run.
const BREAKER_LIMIT: u32 = 10;

/// Counts refusals of whole messages or of the sender in a row, across all
/// connections: a server that refuses everything (a size limit, a content
/// filter, an exhausted quota) stops the run after a few recipients instead
/// of failing the whole list. Hard bounces (bad addresses) count apart: a
/// server that calls every address unknown (one that does not relay for us)
/// would otherwise mark the whole list bounced, never to be mailed again.
/// Deferrals (4xx) are counted apart: a server that defers every try (a
/// sending quota, a rate limit, greylisting of everyone) stops the run with
/// everyone not yet sent pending, instead of failing each recipient in turn
/// once its tries run out.
struct Breaker {
    in_a_row: AtomicU64,
    bounced_in_a_row: AtomicU64,
    deferred_in_a_row: AtomicU64,
    /// Deferrals in a row that stop the run: every connection's recipient
    /// deferred on all its tries but the last (so that the stop comes before
    /// anyone's tries run out), and more than one recipient's tries (so that
    /// one recipient greylisted alone on one connection still fails alone).
    deferral_limit: u64,
}

impl Breaker {
    fn new(max_attempts: u32, connections: usize) -> Breaker {
        let attempts = u64::from(max_attempts.max(1));
        let deferral_limit = (attempts + 1).max((attempts - 1) * connections.max(1) as u64);
        Breaker {
            in_a_row: AtomicU64::new(0),
            bounced_in_a_row: AtomicU64::new(0),
            deferred_in_a_row: AtomicU64::new(0),
            deferral_limit,
        }
    }

    /// Counts a refusal; true when this one reaches the limit.
    fn refused(&self) -> bool {
        self.in_a_row.fetch_add(1, Ordering::Relaxed) + 1 == u64::from(BREAKER_LIMIT)
    }

    /// Counts a hard bounce; true when this one reaches the limit.
    fn bounced(&self) -> bool {
        self.bounced_in_a_row.fetch_add(1, Ordering::Relaxed) + 1 == u64::from(BREAKER_LIMIT)
    }

    /// Counts a deferral of a recipient or a message; true when this one
    /// reaches the limit.
    fn deferred(&self) -> bool {
        self.deferred_in_a_row.fetch_add(1, Ordering::Relaxed) + 1 == self.deferral_limit
    }

    /// Ends every streak. Called for every message accepted: the counters are
    /// written only when a streak is on, so that the connections do not
    /// share a written cache line on every message.
    fn accepted(&self) {
        for streak in [&self.in_a_row, &self.bounced_in_a_row, &self.deferred_in_a_row] {
            if streak.load(Ordering::Relaxed) != 0 {
                streak.store(0, Ordering::Relaxed);
            }
        }
    }
}

/// Hands one message to the transport; a connection opened for it counts
/// in `opened` as soon as the server has taken it.
async fn deliver(
    transport: &Transport,
    hello: &ClientId,
    conn: &mut Option<Connection>,
    subscriber: &Subscriber,
    parts: &[&str],
    envelope: &lettre::address::Envelope,
    opened: Option<&AtomicUsize>,
) -> Result<String, SendError> {
    match transport {
        Transport::Outbox { dir } => {
            write_outbox(dir, subscriber, &parts.concat()).map_err(|e| SendError::Connection(format!("{e:#}")))
        }
        Transport::Smtp(target) => deliver_smtp(target, hello, conn, parts, envelope, opened).await,
        // One message alone (a test copy, a confirmation): the heaviest relay
        // first, the next when one cannot take it now. A send's messages go
        // through the lanes of `run` instead.
        Transport::Relays(relays) => {
            let mut order: Vec<&Relay> = relays.iter().collect();
            order.sort_by_key(|r| std::cmp::Reverse(r.weight));
            let mut failures = Vec::new();
            for relay in order {
                if let Some(c) = conn.take() {
                    c.quit().await;
                }
                match deliver_smtp(&relay.target, hello, conn, parts, envelope, None).await {
                    Ok(reply) => return Ok(format!("{reply} (relay {})", relay.name)),
                    Err(SendError::Connection(why) | SendError::Refused(why)) => {
                        failures.push(format!("relay {}: {why}", relay.name));
                    }
                    Err(SendError::Transient { reply, .. }) => failures.push(format!("relay {}: {reply}", relay.name)),
                    Err(refusal) => return Err(refusal),
                }
            }
            Err(SendError::Connection(failures.join("; ")))
        }
        Transport::Sendmail { command } => crate::deliver::sendmail::send(command, envelope, parts).await,
    }
}

/// Hands one message to an SMTP server, on `conn` or a connection opened now.
async fn deliver_smtp(
    target: &SmtpTarget,
    hello: &ClientId,
    conn: &mut Option<Connection>,
    parts: &[&str],
    envelope: &lettre::address::Envelope,
    opened: Option<&AtomicUsize>,
) -> Result<String, SendError> {
    if conn.is_none() {
        *conn = Some(Connection::open(target, hello).await?);
        if let Some(opened) = opened {
            opened.fetch_add(1, Ordering::Relaxed);
        }
    }
    conn.as_mut().expect("just opened").send(envelope, parts).await
}

/// Sends one message now, outside any ledger (`publish test`); the server's reply.
pub fn send_one(factory: &MessageFactory, transport: &Transport, subscriber: &Subscriber) -> Result<String> {
    let built = factory.build(subscriber)?;
    let hello = ClientId::Domain(factory.headers.domain.clone());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut conn = None;
        let result = deliver(transport, &hello, &mut conn, subscriber, &built.parts(), &built.envelope, None).await;
        if let Some(c) = conn {
            c.quit().await;
        }
        result.map_err(|e| match e {
            SendError::Permanent(r) | SendError::Content(r) => anyhow::anyhow!("the server refused the message: {r}"),
            SendError::Refused(r) => anyhow::anyhow!("{r}"),
            SendError::Transient { reply, .. } => {
                anyhow::anyhow!("the server deferred the message: {reply}; try again later")
            }
            SendError::Connection(r) => anyhow::anyhow!("{r}"),
        })
    })
}

/// Sends one finished message now (a confirmation or welcome mail), outside
/// the issue ledger; `label` names its file in the outbox. The server's reply.
pub fn send_message(
    transport: &Transport,
    domain: &str,
    label: &str,
    bytes: &[u8],
    envelope: &lettre::address::Envelope,
) -> Result<String, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the message is not UTF-8".to_string())?;
    let hello = ClientId::Domain(domain.to_string());
    let who = Subscriber {
        id: -1,
        email: label.to_string(),
        name: String::new(),
        fields: Default::default(),
        status: crate::deliver::store::Status::Active,
        status_at: None,
        status_by: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut conn = None;
        let result = deliver(transport, &hello, &mut conn, &who, &[text], envelope, None).await;
        if let Some(c) = conn {
            c.quit().await;
        }
        result.map_err(|e| match e {
            SendError::Permanent(r) | SendError::Content(r) | SendError::Refused(r) | SendError::Connection(r) => r,
            SendError::Transient { reply, .. } => reply,
        })
    })
}

/// `out/outbox/N/<id>-<address>.eml`, written atomically.
fn write_outbox(dir: &Path, subscriber: &Subscriber, message: &str) -> Result<String> {
    let safe: String = subscriber
        .email
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '+') { c } else { '_' })
        .collect();
    let name = match subscriber.id {
        1.. => format!("{:06}-{safe}.eml", subscriber.id),
        0 => format!("test-{safe}.eml"),
        // A mail outside the ledger: its label is the whole name.
        _ => format!("{safe}.eml"),
    };
    let path: PathBuf = dir.join(name);
    crate::fsutil::write_atomic(&path, message.as_bytes())?;
    Ok(format!("written to {}", path.display()))
}

/// Sends an outcome to the ledger and waits until it is committed; then the
/// worker's hold on the recipient ends.
async fn record(shared: &Shared, lane: usize, subscriber: &Subscriber, attempts: u32, outcome: Outcome) -> Result<()> {
    let committed = commit(shared, subscriber, attempts, outcome).await;
    let_go(shared, None);
    if committed? {
        shared.sent.fetch_add(1, Ordering::Relaxed);
        shared.lanes[lane].sent.fetch_add(1, Ordering::Relaxed);
    }
    shared.progress.inc(1);
    Ok(())
}

/// Whether a message went, once its outcome is durable.
async fn commit(shared: &Shared, subscriber: &Subscriber, attempts: u32, outcome: Outcome) -> Result<bool> {
    let (done, committed) = oneshot::channel();
    let sent = matches!(outcome, Outcome::Sent { .. });
    shared
        .acks
        .send(Ack { subscriber: subscriber.id, attempts, outcome, done })
        .map_err(|_| anyhow::anyhow!("the ledger writer stopped"))?;
    committed.await.map_err(|_| anyhow::anyhow!("the ledger writer stopped"))?.map_err(|e| anyhow::anyhow!(e))?;
    Ok(sent)
}

/// A shared pace for all connections: the configured ceiling, slowed down
/// when servers answer "too fast" (421/450/451/454) and sped up again as
/// messages go through.
struct Throttle {
    base: Duration,
    state: Mutex<ThrottleState>,
}

struct ThrottleState {
    interval: Duration,
    next: tokio::time::Instant,
    successes: u32,
}

impl Throttle {
    fn new(rate_per_sec: Option<f64>) -> Throttle {
        let base = rate_per_sec.map_or(Duration::ZERO, |r| Duration::from_secs_f64(1.0 / r));
        Throttle {
            base,
            state: Mutex::new(ThrottleState { interval: base, next: tokio::time::Instant::now(), successes: 0 }),
        }
    }

    async fn acquire(&self) {
        let wait_until = {
            let mut s = self.state.lock().await;
            if s.interval.is_zero() {
                return;
            }
            let now = tokio::time::Instant::now();
            let slot = s.next.max(now);
            s.next = slot + s.interval;
            slot
        };
        tokio::time::sleep_until(wait_until).await;
    }

    async fn slow_down(&self) {
        let mut s = self.state.lock().await;
        s.interval = (s.interval * 2).max(Duration::from_millis(50)).min(Duration::from_secs(5));
        s.successes = 0;
    }

    async fn succeeded(&self) {
        let mut s = self.state.lock().await;
        if s.interval > self.base {
            s.successes += 1;
            if s.successes >= 20 {
                s.successes = 0;
                s.interval = (s.interval.mul_f64(0.75)).max(self.base);
                if s.interval < Duration::from_millis(2) {
                    s.interval = self.base;
                }
            }
        }
    }
}

/// Failure replies grouped: ("550 5.1.1 no such user", 3).
pub fn group_replies(failures: &[(String, String)]) -> Vec<(String, usize)> {
    let mut groups: BTreeMap<String, usize> = BTreeMap::new();
    for (_, reply) in failures {
        *groups.entry(without_addresses(reply)).or_default() += 1;
    }
    let mut out: Vec<(String, usize)> = groups.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// A reply with the `<address>` it names masked, so that like replies group together.
fn without_addresses(reply: &str) -> String {
    let mut out = String::with_capacity(reply.len());
    let mut rest = reply;
    while let Some(start) = rest.find('<') {
        match rest[start..].find('>') {
            Some(len) if rest[start..start + len].contains('@') => {
                out.push_str(&rest[..start]);
                out.push_str("<…>");
                rest = &rest[start + len + 1..];
            }
            _ => {
                out.push_str(&rest[..=start]);
                rest = &rest[start + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Reads the `[email]` retry settings and the `[state]` sender settings into options.
pub fn options(config: &crate::workspace::config::Config, issue: u32, progress: bool) -> Result<Options> {
    let backoff = Duration::from_millis(config.email.retry_backoff.get().as_millis().max(0) as u64);
    Ok(Options {
        issue,
        concurrency: config.email.concurrency,
        rate_per_sec: config.email.rate_per_sec,
        max_attempts: config.email.max_attempts,
        backoff,
        progress,
        sender: config.state.sender_id(),
        lease: config.state.lease()?,
        cooldown: Duration::from_millis(config.email.relay_cooldown.get().as_millis().max(1) as u64),
    })
}

#[cfg(test)]
mod turn_tests {
    use super::*;

    fn turns(lanes: usize) -> Turns {
        Turns {
            pass: vec![0.0; lanes],
            cooling_until: vec![None; lanes],
            returned: VecDeque::new(),
            held: 0,
            fed: false,
        }
    }

    #[test]
    fn deferrals_stop_a_run_before_any_tries_run_out_but_not_for_one_recipient_alone() {
        // One connection: one recipient deferred on every try fails alone;
        // the next one deferred stops the run.
        assert_eq!(Breaker::new(5, 1).deferral_limit, 6);
        // Eight connections, each on a recipient deferred every time: the
        // stop comes at the start of the fifth round, before any fifth try.
        assert_eq!(Breaker::new(5, 8).deferral_limit, 32);
        assert_eq!(Breaker::new(1, 8).deferral_limit, 2);
        let breaker = Breaker::new(3, 2);
        assert!(!(0..3).any(|_| breaker.deferred()));
        breaker.accepted();
        assert!(!(0..3).any(|_| breaker.deferred()));
        assert!(breaker.deferred(), "the fourth in a row");
        assert!(!breaker.deferred(), "only one worker stops the run");
    }

    #[test]
    fn turns_follow_the_weights() {
        let mut t = turns(2);
        let weights = [3, 1];
        let mut taken = [0; 2];
        for lane in (0..2).cycle() {
            if taken.iter().sum::<u32>() == 40 {
                break;
            }
            if let Turn::Take(None) = t.next(lane, weights[lane]) {
                taken[lane] += 1;
            }
        }
        assert!((29..=31).contains(&taken[0]) && taken[0] + taken[1] == 40, "{taken:?}");
    }

    #[test]
    fn a_cooling_lane_waits_and_its_share_goes_to_the_other() {
        let mut t = turns(2);
        t.cooling_until[0] = Some(tokio::time::Instant::now() + Duration::from_secs(60));
        assert!(matches!(t.next(0, 1), Turn::Wait(Some(_))));
        for _ in 0..5 {
            assert!(matches!(t.next(1, 1), Turn::Take(None)));
        }
        // Back in service, it starts level with the other instead of taking five in a row.
        t.cooling_until[0] = Some(tokio::time::Instant::now());
        assert!(matches!(t.next(0, 1), Turn::Take(None)));
        assert!(matches!(t.next(0, 1), Turn::Wait(None)));
    }

    #[test]
    fn the_run_ends_for_every_lane_even_one_whose_turn_never_came_again() {
        let mut t = turns(2);
        assert!(matches!(t.next(0, 1), Turn::Take(None)));
        assert!(matches!(t.next(0, 1), Turn::Wait(None)));
        t.fed = true;
        // Lane 0 waits for the one message still in hand, then finishes,
        // though lane 1 (lower pass) will never take another.
        assert!(matches!(t.next(0, 1), Turn::Wait(None)));
        t.held = 0;
        assert!(matches!(t.next(0, 1), Turn::Done));
        assert!(matches!(t.next(1, 1), Turn::Done));
    }
}
