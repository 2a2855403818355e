//! The live snapshot of the plan versions in force and their rules that lookups read, replaced
//! when another process (or this one) publishes a version or loads rules, and when a new day puts
//! another version in force.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use sqlx::PgPool;

use super::{Result, ZoningError, ZoningIndex};
use crate::db::replicas::Reader;
use crate::rules::{Reference, RuleBook, Subzone};

/// Where the database is: its newest change and Balikpapan's day.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
struct Clock {
    change: i64,
    today: String,
    day: i32,
}

/// Everything a lookup reads, consistent with one state of the database on one day.
pub struct Snapshot {
    /// The zoning features of the versions in force today.
    pub index: ZoningIndex,
    /// Zones, the sub-zone catalogue and KBLI.
    pub reference: Arc<Reference>,
    /// The rule books of the versions in force, by rule set id.
    pub books: HashMap<i64, Arc<RuleBook>>,
    /// The rule set answers about activities use when no version is named: the city's rule set
    /// when a plan in force uses it, else that of the most recently published version in force.
    pub default_book: Option<Arc<RuleBook>>,
    /// The legend of the map: the sub-zones the rule sets in force regulate, and those that zones
    /// in force use without rules (from the catalogue, or derived), each once, by numeric code.
    pub legend: Vec<Subzone>,
    /// Balikpapan's day the snapshot was taken (YYYY-MM-DD).
    pub today: String,
    /// The newest database change (see `change_log`) the snapshot includes.
    pub db_change: i64,
    /// Identifies the snapshot's content in this process or any other: the day and the newest
    /// change (a new day can put a version in force without any change).
    pub change_id: i64,
}

impl Snapshot {
    /// The rule book of a version in force.
    pub fn book_of_version(&self, version_id: i64) -> Option<&Arc<RuleBook>> {
        let version = self.index.version(version_id)?;
        self.books.get(&version.rule_set_id)
    }
}

/// The current snapshot, swapped atomically when the data changes.
pub struct Live {
    current: ArcSwap<Snapshot>,
    /// Where refreshes, older rule books and snapshots of other days are read.
    reader: Reader,
    /// Serialises reloads, so that two never read the database at once.
    reloading: tokio::sync::Mutex<()>,
    /// Rule books of versions not in force (asked for by date or id): rule sets never change, so
    /// they are kept, per snapshot (whose reference data they use).
    older_books: moka::sync::Cache<(i64, i64), Arc<RuleBook>>,
}

impl Live {
    /// Loads the first snapshot.
    pub async fn load(pool: PgPool) -> Result<Self> {
        Self::load_from(Reader::primary(pool)).await
    }

    /// Loads the first snapshot from `reader`, which later reads also use.
    pub async fn load_from(reader: Reader) -> Result<Self> {
        let started = Instant::now();
        let nothing_held = ZoningIndex::default();
        let snapshot = reader
            .read(|pool| Box::pin(load_snapshot(pool, &nothing_held)))
            .await?;
        observe_snapshot(&snapshot, started);
        Ok(Live {
            current: ArcSwap::from_pointee(snapshot),
            reader,
            reloading: tokio::sync::Mutex::new(()),
            older_books: moka::sync::Cache::new(32),
        })
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// The rule book of rule set `id`, with the reference data of `snapshot`.
    pub async fn book(&self, snapshot: &Snapshot, id: i64) -> Result<Arc<RuleBook>> {
        if let Some(book) = snapshot.books.get(&id) {
            return Ok(book.clone());
        }
        let key = (id, snapshot.change_id);
        if let Some(book) = self.older_books.get(&key) {
            return Ok(book);
        }
        let reference = &snapshot.reference;
        let book = self
            .reader
            .read(|pool| {
                Box::pin(async move {
                    let mut conn = pool.acquire().await?;
                    Ok::<_, ZoningError>(RuleBook::load(&mut conn, id, reference.clone()).await?)
                })
            })
            .await?;
        let book = Arc::new(book);
        self.older_books.insert(key, book.clone());
        Ok(book)
    }

    /// The rule books of rule sets `ids`.
    pub async fn books(
        &self,
        snapshot: &Snapshot,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<HashMap<i64, Arc<RuleBook>>> {
        let mut books = HashMap::new();
        for id in ids {
            if let std::collections::hash_map::Entry::Vacant(slot) = books.entry(id) {
                slot.insert(self.book(snapshot, id).await?);
            }
        }
        Ok(books)
    }

    /// The zoning of the versions `in_force` (geometry version -> version, of the current
    /// snapshot's versions; e.g. those in force on another day, see [`super::versions_in_force`])
    /// with their rule books, read from PostGIS. Its `change_id` is that of the current snapshot.
    pub async fn snapshot_of(&self, day: &str, in_force: HashMap<i64, i64>) -> Result<Snapshot> {
        let current = self.snapshot();
        let versions = current.index.versions().clone();
        let rule_sets: Vec<i64> = in_force
            .values()
            .filter_map(|v| versions.get(v).map(|v| v.rule_set_id))
            .collect();
        let index = self
            .reader
            .read(|pool| {
                let (versions, in_force) = (versions.clone(), in_force.clone());
                Box::pin(async move {
                    let mut conn = pool.acquire().await?;
                    ZoningIndex::load_versions_in_force(&mut conn, versions, in_force).await
                })
            })
            .await?;
        let books = self.books(&current, rule_sets).await?;
        Ok(Snapshot {
            index,
            reference: current.reference.clone(),
            books,
            default_book: None,
            legend: Vec::new(),
            today: day.to_string(),
            db_change: current.db_change,
            change_id: current.change_id,
        })
    }

    /// Reloads the snapshot if the database has changed, or the day, since it was loaded;
    /// returns whether it did. Plan versions already held are kept, not read again.
    pub async fn refresh(&self) -> Result<bool> {
        let _one_at_a_time = self.reloading.lock().await;
        self.reader
            .read(|pool| Box::pin(self.refresh_from(pool)))
            .await
    }

    /// [`Live::refresh`] from `pool` (the caller holds the reload lock).
    async fn refresh_from(&self, pool: &PgPool) -> Result<bool> {
        let clock = read_clock(pool).await?;
        let current = self.current.load_full();
        if clock.change == current.db_change && clock.today == current.today {
            return Ok(false);
        }
        // A read replica that has not yet replayed what was served (or another replica, further
        // behind) is not read from: what a client saw is never taken back. The next refresh (at
        // the next notification or poll) tries again.
        if clock.change < current.db_change || clock.today < current.today {
            metrics::counter!(crate::observe::SNAPSHOT_BEHIND).increment(1);
            tracing::debug!(
                database = clock.change,
                served = current.db_change,
                "the database is behind the snapshot served: kept"
            );
            return Ok(false);
        }
        let started = Instant::now();
        let snapshot = load_snapshot(pool, &current.index).await?;
        if snapshot.db_change < current.db_change {
            metrics::counter!(crate::observe::SNAPSHOT_BEHIND).increment(1);
            return Ok(false);
        }
        observe_snapshot(&snapshot, started);
        tracing::info!(
            features = snapshot.index.len(),
            change = snapshot.db_change,
            today = snapshot.today,
            seconds = started.elapsed().as_secs_f64(),
            "zoning snapshot reloaded"
        );
        self.current.store(Arc::new(snapshot));
        Ok(true)
    }
}

/// Records a snapshot's load in the metrics.
fn observe_snapshot(snapshot: &Snapshot, started: Instant) {
    use crate::observe;
    metrics::histogram!(observe::SNAPSHOT_LOAD).record(started.elapsed().as_secs_f64());
    metrics::gauge!(observe::SNAPSHOT_CHANGE).set(snapshot.db_change as f64);
    metrics::gauge!(observe::SNAPSHOT_FEATURES).set(snapshot.index.len() as f64);
    metrics::gauge!(observe::SNAPSHOT_VERSIONS).set(snapshot.index.in_force().len() as f64);
}

/// The legend of the zones in force (see [`Snapshot::legend`]).
fn legend_of(index: &ZoningIndex, books: &HashMap<i64, Arc<RuleBook>>) -> Vec<Subzone> {
    let mut sorted: Vec<&Arc<RuleBook>> = books.values().collect();
    sorted.sort_by_key(|b| b.id());
    let mut seen = std::collections::HashSet::new();
    let mut legend: Vec<Subzone> = sorted
        .iter()
        .flat_map(|b| b.subzones())
        .filter(|s| seen.insert(s.code.clone()))
        .cloned()
        .collect();
    let regulations = super::Regulations {
        versions: index.versions(),
        version_of: index.in_force(),
        books,
    };
    for feature in index.features() {
        if seen.contains(&*feature.subzone) {
            continue;
        }
        if let Some(entry) = regulations
            .book(feature)
            .and_then(|b| b.legend(&feature.subzone))
        {
            seen.insert(entry.code.clone());
            legend.push(entry.clone());
        }
    }
    legend.sort_by(|a, b| {
        a.catalog_code
            .cmp(&b.catalog_code)
            .then(a.code.cmp(&b.code))
    });
    legend
}

async fn read_clock<'e>(executor: impl sqlx::PgExecutor<'e>) -> Result<Clock> {
    Ok(sqlx::query_as(
        // A dataset's changes (topic `dataset:ID`) are not the zoning snapshot's.
        "SELECT COALESCE((SELECT MAX(id) FROM change_log WHERE topic NOT LIKE 'dataset:%'), 0) AS change,
                city_today()::text AS today,
                (city_today() - DATE '1970-01-01') AS day",
    )
    .fetch_one(executor)
    .await?)
}

/// Reads the features, the rules and the newest change id in one read-only, repeatable-read
/// transaction, so that they agree even while another process publishes.
async fn load_snapshot(pool: &PgPool, previous: &ZoningIndex) -> Result<Snapshot> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    // Reading a large new version may take longer than a request's statement timeout.
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut *tx)
        .await?;
    let clock = read_clock(&mut *tx).await?;
    let index = ZoningIndex::load_after(&mut tx, previous).await?;
    let reference = Arc::new(Reference::load(&mut tx).await?);
    let mut books = HashMap::new();
    for version in index.versions().values().filter(|v| v.in_force) {
        if let std::collections::hash_map::Entry::Vacant(slot) = books.entry(version.rule_set_id) {
            let book = RuleBook::load(&mut tx, version.rule_set_id, reference.clone()).await?;
            slot.insert(Arc::new(book));
        }
    }
    let city = crate::rules::city_rule_set(&mut tx, None).await?;
    let city_book = match city {
        Some(id) if !books.contains_key(&id) => Some(Arc::new(
            RuleBook::load(&mut tx, id, reference.clone()).await?,
        )),
        _ => None,
    };
    tx.commit().await?;
    let newest_in_force = index
        .versions()
        .values()
        .filter(|v| v.in_force)
        .max_by_key(|v| v.version_id)
        .map(|v| v.rule_set_id);
    // The city's rule set when a plan in force uses it; else the newest version's in force; else
    // the city's rule set, loaded before any plan is.
    let default_book = city
        .filter(|id| books.contains_key(id))
        .or(newest_in_force)
        .and_then(|id| books.get(&id).cloned())
        .or(city_book);
    if clock.change >= 1 << 32 {
        return Err(ZoningError::Background(
            "the change log passed 2^32 entries".into(),
        ));
    }
    let legend = legend_of(&index, &books);
    Ok(Snapshot {
        legend,
        index,
        reference,
        books,
        default_book,
        change_id: (i64::from(clock.day) << 32) | clock.change,
        db_change: clock.change,
        today: clock.today,
    })
}
