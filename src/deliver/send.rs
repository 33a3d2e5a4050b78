//! The send run: every pending recipient of an issue, through a pool of
//! connections, with each acceptance committed to the ledger before that
//! connection carries its next message.
//!
//! Threads: a feeder claims pending recipients from the store batch by batch
//! under a lease (an unsubscribe recorded meanwhile is seen at the next
//! batch; another sender sharing the database claims other batches);
//! `concurrency` workers each own one connection; a ledger thread commits the
//! workers' outcomes in groups, tells each worker when its outcome is
//! durable, and renews the lease on what this sender holds. So after a crash
//! at most the one message in flight per connection can go twice, and none
//! is ever marked sent without the server's acceptance; a dead sender's
//! unsent rows come back to the others when its lease runs out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use lettre::transport::smtp::extension::ClientId;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::deliver::dkim::Signer;
use crate::deliver::message::IssueHeaders;
use crate::deliver::smtp::{Connection, SendError};
use crate::deliver::store::{Location, Outcome, Store, Subscriber, wall_ms};
use crate::deliver::token::Secret;
use crate::deliver::transport::Transport;
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
}

impl MessageFactory {
    /// The finished bytes and SMTP envelope for `subscriber`.
    pub fn build(&self, subscriber: &Subscriber) -> Result<(Vec<u8>, lettre::address::Envelope)> {
        let (unsubscribe_url, preferences_url) =
            self.headers.reader_urls(&self.secret, subscriber.id, &subscriber.email);
        let recipient = Recipient {
            unsubscribe_url,
            preferences_url,
            email: subscriber.email.clone(),
            name: subscriber.name.clone(),
            fields: subscriber.fields.clone(),
        };
        let message = self.headers.message(&self.body, &recipient, self.date)?;
        let mut bytes = message.formatted();
        if let Some(signer) = &self.signer {
            bytes = signer.sign(&bytes, self.date)?;
        }
        Ok((bytes, message.envelope().clone()))
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
}

/// What the run did.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub sent: u64,
    pub duration: Duration,
    /// Set when the run stopped early (server unreachable); the rest stays pending.
    pub aborted: Option<String>,
}

struct Ack {
    subscriber: i64,
    attempts: u32,
    outcome: Outcome,
    done: oneshot::Sender<Result<(), String>>,
}

struct Shared {
    factory: MessageFactory,
    transport: Transport,
    options: Options,
    throttle: Throttle,
    breaker: Breaker,
    acks: std::sync::mpsc::Sender<Ack>,
    abort: AtomicBool,
    abort_reason: std::sync::Mutex<Option<String>>,
    sent: AtomicU64,
    progress: indicatif::ProgressBar,
    hello: ClientId,
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
    let lease = Lease { sender: options.sender.clone(), length: options.lease };
    let (ledger_at, ledger_lease) = (location.clone(), lease.clone());
    let ledger = std::thread::Builder::new()
        .name("ledger".into())
        .spawn(move || ledger_loop(&ledger_at, issue, &ledger_lease, ack_rx))?;

    let (job_tx, job_rx) = mpsc::channel::<Subscriber>(options.concurrency * 4 + 64);
    let (feeder_at, feeder_lease) = (location.clone(), lease.clone());
    let batch = (options.concurrency * 4).clamp(16, PAGE);
    let feeder = std::thread::Builder::new()
        .name("feeder".into())
        .spawn(move || feed(&feeder_at, issue, &feeder_lease, batch, job_tx))?;

    let hello = ClientId::Domain(factory.headers.domain.clone());
    let shared = Arc::new(Shared {
        throttle: Throttle::new(options.rate_per_sec),
        breaker: Breaker::default(),
        factory,
        transport,
        options,
        acks: ack_tx,
        abort: AtomicBool::new(false),
        abort_reason: std::sync::Mutex::new(None),
        sent: AtomicU64::new(0),
        progress,
        hello,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let jobs = Arc::new(Mutex::new(job_rx));
    let worker_results: Vec<Result<()>> = runtime.block_on(async {
        let handles: Vec<_> = (0..shared.options.concurrency)
            .map(|_| tokio::spawn(worker(Arc::clone(&shared), Arc::clone(&jobs))))
            .collect();
        let mut results = Vec::new();
        for h in handles {
            results.push(h.await.unwrap_or_else(|e| Err(anyhow::anyhow!("a send worker crashed: {e}"))));
        }
        results
    });
    // Close the job queue so the feeder stops, then let the ledger drain.
    drop(jobs);
    let feed_result = feeder.join().map_err(|_| anyhow::anyhow!("the recipient feeder crashed"))?;
    let shared = Arc::into_inner(shared).expect("workers are done");
    shared.progress.finish_and_clear();
    let stats = RunStats {
        sent: shared.sent.load(Ordering::Relaxed),
        duration: started.elapsed(),
        aborted: shared.abort_reason.lock().expect("abort lock").clone(),
    };
    drop(shared.acks);
    ledger.join().map_err(|_| anyhow::anyhow!("the ledger writer crashed"))??;
    // What this sender claimed and did not send (a stopped run) goes back now,
    // not when the lease runs out.
    Store::open(location)?.release(issue, Some(&lease.sender))?;
    for r in worker_results {
        r?;
    }
    feed_result?;
    Ok(stats)
}

/// Who holds claimed rows, and for how long at a time.
#[derive(Debug, Clone)]
struct Lease {
    sender: String,
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
) -> Result<()> {
    let mut store = Store::open(location)?;
    // Batch numbers start at the clock, so that a later run under the same
    // sender name never takes an earlier run's batch for its own.
    let mut batch = wall_ms();
    loop {
        batch += 1;
        let now = wall_ms();
        let page = store.claim(issue, &lease.sender, batch, batch_size, now, lease.until(now))?;
        if page.is_empty() {
            let Some(expiry) = store.next_expiry(issue, &lease.sender, now)? else { return Ok(()) };
            let wait = (expiry - now + 20).clamp(20, 1000);
            std::thread::sleep(Duration::from_millis(wait as u64));
            if jobs.is_closed() {
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

/// Commits outcomes as they come, in groups, and tells each worker when its
/// outcome is durable; renews this sender's lease a few times per lease.
fn ledger_loop(location: &Location, issue: u32, lease: &Lease, acks: std::sync::mpsc::Receiver<Ack>) -> Result<()> {
    let mut store = Store::open(location)?;
    store.acks_as_durable_as_sqlite()?;
    let renew_every = lease.length / 3;
    let mut renewed = Instant::now();
    loop {
        let first = match acks.recv_timeout(renew_every) {
            Ok(ack) => Some(ack),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        };
        if renewed.elapsed() >= renew_every {
            store.renew(issue, &lease.sender, lease.until(wall_ms()))?;
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

async fn worker(shared: Arc<Shared>, jobs: Arc<Mutex<mpsc::Receiver<Subscriber>>>) -> Result<()> {
    let mut conn: Option<Connection> = None;
    let result = worker_loop(&shared, &jobs, &mut conn).await;
    if let Some(c) = conn {
        c.quit().await;
    }
    result
}

async fn worker_loop(
    shared: &Shared,
    jobs: &Mutex<mpsc::Receiver<Subscriber>>,
    conn: &mut Option<Connection>,
) -> Result<()> {
    let opts = &shared.options;
    loop {
        if shared.abort.load(Ordering::Relaxed) {
            return Ok(());
        }
        let Some(subscriber) = jobs.lock().await.recv().await else { return Ok(()) };
        let (bytes, envelope) = match shared.factory.build(&subscriber) {
            Ok(built) => built,
            Err(e) => {
                record(shared, &subscriber, 0, Outcome::Failed { reply: format!("not sent: {e:#}") }).await?;
                continue;
            }
        };
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            shared.throttle.acquire().await;
            let result = deliver(&shared.transport, &shared.hello, conn, &subscriber, &bytes, &envelope).await;
            let error = match result {
                Ok(reply) => {
                    shared.throttle.succeeded().await;
                    shared.breaker.accepted();
                    break Outcome::Sent { reply };
                }
                Err(e) => e,
            };
            if conn.as_ref().is_some_and(|c| !c.is_usable()) {
                *conn = None;
            }
            match error {
                SendError::Permanent(reply) if crate::deliver::smtp::is_hard_bounce(&reply) => {
                    break Outcome::Bounced { reply };
                }
                SendError::Permanent(reply) | SendError::Content(reply) => {
                    if shared.breaker.refused() {
                        let why = format!("the server refused {BREAKER_LIMIT} messages in a row ({reply})");
                        stop(shared, why);
                    }
                    break Outcome::Failed { reply };
                }
                SendError::Refused(reason) => {
                    stop(shared, reason);
                    return Ok(());
                }
                SendError::Transient { reply, slow_down, to_sender } => {
                    if slow_down {
                        shared.throttle.slow_down().await;
                    }
                    if attempt >= opts.max_attempts {
                        if to_sender {
                            stop(shared, format!("{reply} (after {attempt} attempts)"));
                            return Ok(());
                        }
                        break Outcome::Failed { reply: format!("{reply} (gave up after {attempt} attempts)") };
                    }
                }
                SendError::Connection(reason) => {
                    *conn = None;
                    if attempt >= opts.max_attempts {
                        stop(shared, format!("{reason} (after {attempt} attempts)"));
                        return Ok(());
                    }
                }
            }
            let wait = opts.backoff.saturating_mul(1 << (attempt - 1).min(6));
            tokio::time::sleep(wait).await;
            if shared.abort.load(Ordering::Relaxed) {
                return Ok(());
            }
        };
        record(shared, &subscriber, attempt, outcome).await?;
    }
}

/// Stops the run: no worker takes another recipient; the first reason is kept.
fn stop(shared: &Shared, reason: String) {
    shared.abort.store(true, Ordering::Relaxed);
    shared.abort_reason.lock().expect("abort lock").get_or_insert(reason);
}

/// How many refused messages in a row (nothing accepted between) stop a run.
const BREAKER_LIMIT: u32 = 10;

/// Counts refusals of whole messages or of the sender in a row, across all
/// connections: a server that refuses everything (a size limit, a content
/// filter, an exhausted quota) stops the run after a few recipients instead
/// of failing the whole list. Hard bounces (bad addresses) do not count.
#[derive(Default)]
struct Breaker {
    in_a_row: AtomicU64,
}

impl Breaker {
    /// Counts a refusal; true when this one reaches the limit.
    fn refused(&self) -> bool {
        self.in_a_row.fetch_add(1, Ordering::Relaxed) + 1 == u64::from(BREAKER_LIMIT)
    }

    fn accepted(&self) {
        self.in_a_row.store(0, Ordering::Relaxed);
    }
}

/// Hands one message to the transport.
async fn deliver(
    transport: &Transport,
    hello: &ClientId,
    conn: &mut Option<Connection>,
    subscriber: &Subscriber,
    bytes: &[u8],
    envelope: &lettre::address::Envelope,
) -> Result<String, SendError> {
    match transport {
        Transport::Outbox { dir } => {
            write_outbox(dir, subscriber, bytes).map_err(|e| SendError::Connection(format!("{e:#}")))
        }
        Transport::Smtp(target) => {
            if conn.is_none() {
                *conn = Some(Connection::open(target, hello).await?);
            }
            conn.as_mut().expect("just opened").send(envelope, bytes).await
        }
        Transport::Sendmail { command } => {
            use lettre::AsyncTransport;
            let sendmail = lettre::AsyncSendmailTransport::<lettre::Tokio1Executor>::new_with_command(command.as_str());
            sendmail.send_raw(envelope, bytes).await.map(|()| "accepted by sendmail".to_string()).map_err(|e| {
                SendError::Transient { reply: format!("sendmail ({command}): {e}"), slow_down: false, to_sender: true }
            })
        }
    }
}

/// Sends one message now, outside any ledger (`publish test`); the server's reply.
pub fn send_one(factory: &MessageFactory, transport: &Transport, subscriber: &Subscriber) -> Result<String> {
    let (bytes, envelope) = factory.build(subscriber)?;
    let hello = ClientId::Domain(factory.headers.domain.clone());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut conn = None;
        let result = deliver(transport, &hello, &mut conn, subscriber, &bytes, &envelope).await;
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
        let result = deliver(transport, &hello, &mut conn, &who, bytes, envelope).await;
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
fn write_outbox(dir: &Path, subscriber: &Subscriber, bytes: &[u8]) -> Result<String> {
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
    crate::fsutil::write_atomic(&path, bytes)?;
    Ok(format!("written to {}", path.display()))
}

/// Sends an outcome to the ledger and waits until it is committed.
async fn record(shared: &Shared, subscriber: &Subscriber, attempts: u32, outcome: Outcome) -> Result<()> {
    let (done, committed) = oneshot::channel();
    let sent = matches!(outcome, Outcome::Sent { .. });
    shared
        .acks
        .send(Ack { subscriber: subscriber.id, attempts, outcome, done })
        .map_err(|_| anyhow::anyhow!("the ledger writer stopped"))?;
    committed.await.map_err(|_| anyhow::anyhow!("the ledger writer stopped"))?.map_err(|e| anyhow::anyhow!(e))?;
    if sent {
        shared.sent.fetch_add(1, Ordering::Relaxed);
    }
    shared.progress.inc(1);
    Ok(())
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
    })
}
