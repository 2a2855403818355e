//! The embedded cluster as an installation gets it: connections need the password kept beside the
//! cluster, commits are durable, and a cluster left by an older version (trusting every local
//! connection) is made to require the password when it starts.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use satupeta::db::{ClusterOptions, EmbeddedCluster, url};
use sqlx::{Connection, PgConnection};

use super::harness::scratch_dir;

/// Whether a connection to `url` is accepted.
async fn accepted(url: &str) -> Result<(), String> {
    let conn = PgConnection::connect(url)
        .await
        .map_err(|e| e.to_string())?;
    conn.close().await.map_err(|e| e.to_string())
}

/// The rules of a `pg_hba.conf` that let connections in without a password.
fn trusting_rules(hba: &str) -> Vec<&str> {
    hba.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter(|l| l.split_whitespace().any(|w| w == "trust"))
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Asserts that the cluster accepts its URL and refuses it without the password or with another.
async fn assert_password_required(cluster: &EmbeddedCluster) {
    let with = cluster.url("postgres");
    accepted(&with).await.expect("the URL with the password");
    let without = url::split_password(&with).url;
    let refused = accepted(&without).await.expect_err("no password");
    assert!(refused.contains("password"), "{refused}");
    let wrong = with.replace(&url::split_password(&with).password.unwrap(), "0000");
    let refused = accepted(&wrong).await.expect_err("a wrong password");
    assert!(
        refused.contains("password authentication failed"),
        "{refused}"
    );
}

#[tokio::test]
async fn the_default_cluster_requires_its_secret_and_commits_durably() {
    let dir = scratch_dir().join("postgres");
    let cluster = EmbeddedCluster::start(&dir).expect("start a default cluster");
    assert_eq!(cluster.secret_file(), dir.with_extension("secret"));
    assert_eq!(mode(&cluster.secret_file()), 0o600);
    assert!(
        !format!("{cluster:?}").contains(&url::split_password(&cluster.url("x")).password.unwrap()),
        "Debug shows the password"
    );
    let hba = std::fs::read_to_string(dir.join("pg_hba.conf")).unwrap();
    assert_eq!(trusting_rules(&hba), Vec::<&str>::new());
    assert_password_required(&cluster).await;

    let mut conn = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    for setting in ["fsync", "full_page_writes", "synchronous_commit"] {
        let value: String = sqlx::query_scalar(&format!("SHOW {setting}"))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(value, "on", "{setting}");
    }
    conn.close().await.unwrap();
    drop(cluster);
    assert!(
        !dir.join("postmaster.pid").exists(),
        "the cluster still runs"
    );
}

#[tokio::test]
async fn a_cluster_that_trusted_local_connections_is_given_a_password_on_start() {
    let dir = scratch_dir().join("postgres");
    let options = ClusterOptions { durable: false };

    // Make the cluster what an older version left: no password, every connection trusted.
    let cluster = EmbeddedCluster::start_with(&dir, options).unwrap();
    let mut conn = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    sqlx::raw_sql("CREATE TABLE kept (what text); INSERT INTO kept VALUES ('data before')")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("ALTER ROLE postgres PASSWORD NULL")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let secret = cluster.secret_file();
    drop(cluster);
    let hba = dir.join("pg_hba.conf");
    let trusting = std::fs::read_to_string(&hba)
        .unwrap()
        .replace("scram-sha-256", "trust");
    std::fs::write(&hba, &trusting).unwrap();
    assert!(!trusting_rules(&trusting).is_empty());
    std::fs::remove_file(&secret).unwrap();

    let cluster = EmbeddedCluster::start_with(&dir, options).expect("upgrade on start");
    assert_eq!(mode(&secret), 0o600);
    let hba = std::fs::read_to_string(&hba).unwrap();
    assert_eq!(trusting_rules(&hba), Vec::<&str>::new());
    assert_password_required(&cluster).await;
    let mut conn = PgConnection::connect(&cluster.url("postgres"))
        .await
        .unwrap();
    let kept: String = sqlx::query_scalar("SELECT what FROM kept")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(kept, "data before");
    conn.close().await.unwrap();

    // A second process attaches with the stored secret.
    let second = EmbeddedCluster::start_with(&dir, options).unwrap();
    assert_eq!(second.url("postgres"), cluster.url("postgres"));
    drop(second);
    accepted(&cluster.url("postgres")).await.unwrap();
}

#[test]
fn the_last_process_out_stops_a_cluster_another_process_started() {
    // A process starts the cluster and leaves it running for others (as an import does when a
    // server attaches meanwhile), then ends.
    let data_dir = scratch_dir().join("var");
    let mut first = EmbeddedCluster::start(&data_dir.join("postgres")).expect("start");
    first.detach();
    drop(first);
    let pid_file = data_dir.join("postgres/postmaster.pid");
    assert!(pid_file.exists(), "the cluster runs on without its owner");
    // A server attaches to it; when it stops, no one else uses the cluster: it stops it.
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_satupeta"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(&data_dir)
        .current_dir(super::harness::root())
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("serving on "), "{line}");
    // SAFETY: a signal to the child this test started.
    unsafe { libc::kill(server.id() as i32, libc::SIGTERM) };
    let output = server.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !pid_file.exists(),
        "the cluster was left running without an owner"
    );
}

#[test]
fn as_root_a_cluster_of_another_user_is_refused_with_its_owner_named() {
    // Only root runs PostgreSQL as another user; as anyone else there is nothing to refuse.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    let dir = scratch_dir().join("theirs/postgres");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("PG_VERSION"), "15\n").unwrap();
    let status = std::process::Command::new("chown")
        .args(["-R", "nobody"])
        .arg(dir.parent().unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let refused = EmbeddedCluster::start(&dir).expect_err("another user's cluster");
    let message = refused.to_string();
    assert!(
        message.contains("belongs to the user 'nobody'") && message.contains("sudo -u nobody"),
        "{message}"
    );
}
