//! CPU-heavy work (tile rendering, generalisation) runs here: on tokio's blocking threads, never
//! on the threads that serve requests, and at most [`Limits::cpu_concurrency`] tasks at once, so
//! that a burst of expensive requests cannot starve the cheap ones (`/healthz`, lookups). A task
//! that waits longer than [`Limits::queue_wait_s`] for its turn is refused with [`Busy`].
//!
//! [`Limits::cpu_concurrency`]: crate::limits::Limits::cpu_concurrency
//! [`Limits::queue_wait_s`]: crate::limits::Limits::queue_wait_s

use std::sync::LazyLock;

use tokio::sync::Semaphore;

use crate::limits::LIMITS;

static SLOTS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(LIMITS.cpu_concurrency));

/// Why CPU work did not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum CpuError {
    /// No CPU slot came free within the queue wait.
    #[error("the server is busy; no slot came free within {} s", LIMITS.queue_wait_s)]
    Busy,
    /// The work panicked (a bug; the message says where).
    #[error("a background task failed: {0}")]
    Failed(String),
}

/// Runs background work (reloads, not requests) on a blocking thread, without waiting for a slot:
/// it must not be refused, and there is one reload at a time.
pub async fn background<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CpuError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| CpuError::Failed(e.to_string()))
}

/// Runs `work` on a blocking thread once a CPU slot is free.
pub async fn run<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CpuError> {
    let permit = tokio::time::timeout(LIMITS.queue_wait(), SLOTS.acquire())
        .await
        .map_err(|_| CpuError::Busy)?
        .map_err(|_| CpuError::Busy)?;
    let result = tokio::task::spawn_blocking(work).await;
    drop(permit);
    result.map_err(|e| CpuError::Failed(e.to_string()))
}
