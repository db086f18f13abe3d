//! The changes this process applies from the feed, handed on to whoever in
//! the process listens (live subscriptions). They are told after the read
//! cache forgot what a change touched, so what a listener reads in answer
//! is already the new truth. Every process follows the whole feed, so a
//! listener hears writes made through any process on the database.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use tokio::sync::broadcast;

use crate::content::writes::change::Change;

/// One process's listeners to the change feed.
#[derive(Debug, Clone)]
pub struct ChangeListeners {
    sender: broadcast::Sender<Arc<[Change]>>,
    /// The last change handed on: this process has applied every change up
    /// to it.
    told: Arc<AtomicI64>,
}

impl ChangeListeners {
    /// Listeners for whom `batches` batches of changes may wait
    /// (`NEWSROOM_LIVE_BACKLOG`). One that falls further behind is told it
    /// lagged, goes on from the oldest batch still waiting, and may read
    /// what it missed back from the feed up to
    /// [`ChangeListeners::told_up_to`].
    pub fn with_room(batches: usize) -> Self {
        Self {
            sender: broadcast::Sender::new(batches.max(1)),
            told: Arc::default(),
        }
    }

    /// Notes where in the feed this process starts: changes up to `seq`
    /// were applied before anyone could listen.
    pub fn start_at(&self, seq: i64) {
        self.told.fetch_max(seq, Ordering::SeqCst);
    }

    /// Hands `changes` (applied here, in feed order) to every listener.
    pub fn tell(&self, changes: &[Change]) {
        let Some(last) = changes.last() else {
            return;
        };
        if self.sender.receiver_count() > 0 {
            // No listener left between the count and the send is not an
            // error.
            let _ = self.sender.send(Arc::from(changes));
        }
        self.told.fetch_max(last.seq, Ordering::SeqCst);
    }

    /// The last change handed on: a listener that lagged reads the changes
    /// it missed from the feed up to here (all applied in this process).
    pub fn told_up_to(&self) -> i64 {
        self.told.load(Ordering::SeqCst)
    }

    /// A new listener: it hears the changes applied from now on.
    pub fn listen(&self) -> broadcast::Receiver<Arc<[Change]>> {
        self.sender.subscribe()
    }
}
