//! The live snapshot of published plans and rules that lookups read, replaced when another
//! process (or this one) publishes a plan or loads rules.

use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use sqlx::PgPool;

use super::{Result, ZoningIndex};
use crate::db::latest_change;
use crate::rules::RuleBook;

/// Everything a lookup reads, consistent with one state of the database.
pub struct Snapshot {
    /// Published zoning features.
    pub index: ZoningIndex,
    /// Rule tables.
    pub rules: RuleBook,
    /// The newest change (see `change_log`) this snapshot includes: two snapshots with the same
    /// change hold the same content, in this process or any other.
    pub change_id: i64,
}

/// The current snapshot, swapped atomically when the data changes.
pub struct Live {
    current: ArcSwap<Snapshot>,
    pool: PgPool,
    /// Serialises reloads, so that two never read the database at once.
    reloading: tokio::sync::Mutex<()>,
}

impl Live {
    /// Loads the first snapshot.
    pub async fn load(pool: PgPool) -> Result<Self> {
        let snapshot = load_snapshot(&pool, &ZoningIndex::default()).await?;
        Ok(Live {
            current: ArcSwap::from_pointee(snapshot),
            pool,
            reloading: tokio::sync::Mutex::new(()),
        })
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Reloads the snapshot if the database has changed since it was loaded; returns whether it
    /// did. Plan versions already held are kept, not read again.
    pub async fn refresh(&self) -> Result<bool> {
        let _one_at_a_time = self.reloading.lock().await;
        let latest = latest_change(&self.pool).await?;
        let current = self.current.load_full();
        if latest == current.change_id {
            return Ok(false);
        }
        let started = Instant::now();
        let snapshot = load_snapshot(&self.pool, &current.index).await?;
        tracing::info!(
            features = snapshot.index.len(),
            change = snapshot.change_id,
            seconds = started.elapsed().as_secs_f64(),
            "zoning snapshot reloaded"
        );
        self.current.store(Arc::new(snapshot));
        Ok(true)
    }
}

/// Reads the features, the rules and the newest change id in one read-only, repeatable-read
/// transaction, so that the three agree even while another process publishes.
async fn load_snapshot(pool: &PgPool, previous: &ZoningIndex) -> Result<Snapshot> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    // Reading a large new version may take longer than a request's statement timeout.
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut *tx)
        .await?;
    let change_id = latest_change(&mut *tx).await?;
    let index = ZoningIndex::load_after(&mut tx, previous).await?;
    let rules = RuleBook::load(&mut tx).await?;
    tx.commit().await?;
    Ok(Snapshot {
        index,
        rules,
        change_id,
    })
}
