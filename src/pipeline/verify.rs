//! The opt-in verification stage: the only stage that reads a token's secret bytes to send
//! them anywhere. Each distinct token found by a rule that carries a check is handed to
//! worker threads as the scan finds it, so that the checks (network calls) run while the scan
//! goes on; [`Checks::finish`] waits for the last answers. Nothing here runs without
//! `--verify`.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::verify::{Candidate, CheckSpec, Secret, Verifications, Verified, Verifier};

/// The checks of a scan: which rules carry one, and the workers that run them.
pub struct Checks {
    /// Per rule index (as the matcher numbers rules), its check.
    specs: Vec<Option<Arc<CheckSpec>>>,
    verifier: Arc<Verifier>,
    queue: Mutex<Option<Sender<Candidate>>>,
    seen: Mutex<HashSet<String>>,
    results: Arc<Mutex<HashMap<String, Verified>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Checks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checks").finish_non_exhaustive()
    }
}

impl Checks {
    /// Starts `concurrency` workers that run `verifier`'s checks for the rules whose `specs`
    /// entry is set.
    pub fn start(
        verifier: Verifier,
        specs: Vec<Option<Arc<CheckSpec>>>,
        concurrency: usize,
    ) -> Checks {
        let (tx, rx) = mpsc::channel::<Candidate>();
        let rx = Arc::new(Mutex::new(rx));
        let verifier = Arc::new(verifier);
        let results = Arc::new(Mutex::new(HashMap::new()));
        let workers = (0..concurrency.clamp(1, 64))
            .map(|_| {
                let (rx, verifier, results) =
                    (Arc::clone(&rx), Arc::clone(&verifier), Arc::clone(&results));
                std::thread::spawn(move || work(&rx, &verifier, &results))
            })
            .collect();
        Checks {
            specs,
            verifier,
            queue: Mutex::new(Some(tx)),
            seen: Mutex::new(HashSet::new()),
            results,
            workers: Mutex::new(workers),
        }
    }

    /// The verifier (its transport serves switching tokens off too).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Whether rule `rule` carries a check.
    pub fn checks(&self, rule: usize) -> bool {
        self.specs.get(rule).is_some_and(Option::is_some)
    }

    /// Queues a found token of rule `rule` (once per fingerprint), with the environments
    /// named in the text around it.
    pub fn submit(
        &self,
        rule: usize,
        token_id: &str,
        fingerprint: &str,
        token: Secret,
        around: &[u8],
    ) {
        let Some(Some(spec)) = self.specs.get(rule) else { return };
        if !self.seen.lock().expect("no panic holds the lock").insert(fingerprint.to_string()) {
            return;
        }
        let candidate = Candidate {
            token_id: token_id.to_string(),
            secret: token,
            fingerprint: fingerprint.to_string(),
            spec: Arc::clone(spec),
            context: crate::verify::environments_in(around),
        };
        if let Some(tx) = &*self.queue.lock().expect("no panic holds the lock") {
            let _ = tx.send(candidate);
        }
    }

    /// Waits for every queued check; the results by fingerprint (the same on every call).
    pub fn finish(&self) -> Verifications {
        drop(self.queue.lock().expect("no panic holds the lock").take());
        for w in std::mem::take(&mut *self.workers.lock().expect("no panic holds the lock")) {
            let _ = w.join();
        }
        let results = self.results.lock().expect("workers done").clone();
        Verifications::from_results(results)
    }
}

/// A worker: takes candidates until the queue closes.
fn work(
    rx: &Mutex<Receiver<Candidate>>,
    verifier: &Verifier,
    results: &Mutex<HashMap<String, Verified>>,
) {
    loop {
        let next = rx.lock().expect("no panic holds the lock").recv();
        let Ok(c) = next else { return };
        let verified = Verified {
            token_id: c.token_id.clone(),
            verification: verifier.verify_one(&c),
            revocable: c.spec.response == crate::verify::Interpreter::DynatraceApiToken,
        };
        results.lock().expect("no panic holds the lock").insert(c.fingerprint.clone(), verified);
    }
}
