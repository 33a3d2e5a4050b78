//! Ctrl-C, SIGTERM and SIGHUP while a send runs: the first asks the run to
//! stop once the messages on the wire have their answer, each one recorded,
//! so that a resume sends nobody twice; a second ends the process at once
//! (status 128 + the signal), as the signal would have without us. Outside a
//! send the signals keep their default action.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use signal_hook::SigId;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::flag;

const SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// True while no send is catching the signals: their default action runs.
static OUTSIDE: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// The signals caught for as long as this lives.
pub struct Interrupts {
    asked: Arc<AtomicBool>,
    which: Arc<AtomicUsize>,
    ids: Vec<SigId>,
}

impl Interrupts {
    /// Catches the signals until dropped. Where they cannot be caught (an
    /// error from the OS), they keep their default action.
    pub fn catch() -> Interrupts {
        let outside = OUTSIDE.get_or_init(|| {
            let outside = Arc::new(AtomicBool::new(true));
            for signal in SIGNALS {
                // Runs before the actions below, which only ever come after it.
                let _ = flag::register_conditional_default(signal, Arc::clone(&outside));
            }
            outside
        });
        let asked = Arc::new(AtomicBool::new(false));
        let which = Arc::new(AtomicUsize::new(0));
        let mut ids = Vec::new();
        for signal in SIGNALS {
            // The second signal: out at once (this must be registered before
            // the flag is set, or the first signal would end the process).
            let status = 128 + signal;
            ids.extend(flag::register_conditional_shutdown(signal, status, Arc::clone(&asked)).ok());
            ids.extend(flag::register_usize(signal, Arc::clone(&which), signal as usize).ok());
            ids.extend(flag::register(signal, Arc::clone(&asked)).ok());
        }
        outside.store(false, Ordering::SeqCst);
        Interrupts { asked, which, ids }
    }

    /// The signal that asked the run to stop, by name, if one has.
    pub fn asked(&self) -> Option<&'static str> {
        if !self.asked.load(Ordering::SeqCst) {
            return None;
        }
        Some(match self.which.load(Ordering::SeqCst) as i32 {
            SIGINT => "Ctrl-C (SIGINT)",
            SIGTERM => "SIGTERM",
            SIGHUP => "SIGHUP (the terminal closed)",
            _ => "a signal",
        })
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
        if let Some(outside) = OUTSIDE.get() {
            outside.store(true, Ordering::SeqCst);
        }
    }
}
