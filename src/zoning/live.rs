//! The live snapshot of published plans and rules that lookups read, and the watcher that
//! replaces it when another process (or this one) publishes a plan or loads rules.

use std::sync::Arc;

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
    /// The newest change (see `change_log`) this snapshot includes.
    pub change_id: i64,
}

/// The current snapshot, swapped atomically when the data changes.
pub struct Live {
    current: ArcSwap<Snapshot>,
    pool: PgPool,
}

impl Live {
    /// Loads the first snapshot.
    pub async fn load(pool: PgPool) -> Result<Self> {
        let snapshot = load_snapshot(&pool).await?;
        Ok(Live {
            current: ArcSwap::from_pointee(snapshot),
            pool,
        })
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Reloads the snapshot if the database has changed since it was loaded; returns whether it did.
    pub async fn refresh(&self) -> Result<bool> {
        let latest = latest_change(&self.pool).await?;
        if latest == self.current.load().change_id {
            return Ok(false);
        }
        let snapshot = load_snapshot(&self.pool).await?;
        tracing::info!(
            features = snapshot.index.len(),
            change = snapshot.change_id,
            "zoning snapshot reloaded"
        );
        self.current.store(Arc::new(snapshot));
        Ok(true)
    }
}

/// Reads the features, the rules and the newest change id in one read-only, repeatable-read
/// transaction, so that the three agree even while another process publishes.
async fn load_snapshot(pool: &PgPool) -> Result<Snapshot> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let change_id = latest_change(&mut *tx).await?;
    let index = ZoningIndex::load(&mut tx).await?;
    let rules = RuleBook::load(&mut tx).await?;
    tx.commit().await?;
    Ok(Snapshot {
        index,
        rules,
        change_id,
    })
}
