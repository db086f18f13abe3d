//! The changes this process applies from the feed, handed on to whoever in
//! the process listens (live subscriptions). They are told after the read
//! cache forgot what a change touched, so what a listener reads in answer
//! is already the new truth. Every process follows the whole feed, so a
//! listener hears writes made through any process on the database.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::content::writes::change::Change;

/// How many batches of changes wait for a slow listener before it misses
/// some (it is told it lagged and goes on from the newest).
const WAITING_BATCHES: usize = 1024;

/// One process's listeners to the change feed.
#[derive(Debug, Clone)]
pub struct ChangeListeners {
    sender: broadcast::Sender<Arc<[Change]>>,
}

impl Default for ChangeListeners {
    fn default() -> Self {
        Self {
            sender: broadcast::Sender::new(WAITING_BATCHES),
        }
    }
}

impl ChangeListeners {
    /// Hands `changes` (applied here, in feed order) to every listener.
    pub fn tell(&self, changes: &[Change]) {
        if changes.is_empty() || self.sender.receiver_count() == 0 {
            return;
        }
        // No listener left between the count and the send is not an error.
        let _ = self.sender.send(Arc::from(changes));
    }

    /// A new listener: it hears the changes applied from now on.
    pub fn listen(&self) -> broadcast::Receiver<Arc<[Change]>> {
        self.sender.subscribe()
    }
}
