//! Mail to reporters and followers, through an outbox: a status change queues its messages in the
//! transaction that makes it, and a background task hands them to the configured SMTP server.
//! A message stays in the outbox until the server took it; a failed attempt is tried again later
//! (5 s, then twice as long each time, at most an hour), so nothing is lost while the mail server
//! is down; a message the server refuses for good (a 5xx answer) is kept with its error and not
//! tried again. A report's news reaches each address in the order it was made. Several servers share the outbox: each takes a message by leasing it (`FOR UPDATE SKIP
//! LOCKED`), so none is sent twice by two of them.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;

use super::store::status_label;
use super::workflow::Status;

/// How mail leaves the server.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The SMTP server, as lettre reads it: `smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://host:465`.
    pub smtp_url: String,
    /// The sender, e.g. `DPPR Kota Balikpapan <noreply@dppr.balikpapan.go.id>`.
    pub from: String,
}

/// Why mail could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The SMTP URL is not one lettre reads.
    #[error("the SMTP URL is not usable: {0}")]
    Url(String),
    /// The sender is not an address.
    #[error("the sender \"{0}\" is not a mailbox like `Name <user@example.go.id>`")]
    From(String),
}

/// Messages one pass takes at most.
const BATCH: i64 = 20;
/// How often the outbox is looked at without a wake-up call.
const POLL: Duration = Duration::from_secs(10);

/// Queues the news of a report's transition for its reporter and followers; returns how many
/// messages were queued.
pub async fn queue_news(
    tx: &mut PgConnection,
    id: i64,
    status: Status,
    note: Option<&String>,
    link: &str,
) -> Result<u64, sqlx::Error> {
    let recipients: Vec<String> = sqlx::query_scalar(include_str!("sql/recipients.sql"))
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
    let subject = format!("Laporan #{id}: {}", status_label(status));
    let mut body = format!(
        "Laporan pelanggaran tata ruang #{id} kini berstatus: {}.\n",
        status_label(status)
    );
    if let Some(note) = note {
        body.push_str(&format!("\nCatatan DPPR:\n{note}\n"));
    }
    body.push_str(&format!(
        "\nIkuti laporan ini: {link}/lapor/{id}\n\n-- \nDinas Pertanahan dan Penataan Ruang Kota Balikpapan\n\
         Surel ini dikirim karena Anda melaporkan atau mengikuti laporan ini.\n"
    ));
    let mut queued = 0;
    for to in recipients {
        sqlx::query(
            "INSERT INTO mail_outbox (report_id, to_addr, subject, body) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(&to)
        .bind(&subject)
        .bind(&body)
        .execute(&mut *tx)
        .await?;
        queued += 1;
    }
    Ok(queued)
}

#[derive(sqlx::FromRow)]
struct Outgoing {
    id: i64,
    to_addr: String,
    subject: String,
    body: String,
    attempts: i32,
}

/// The mail sender.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// A sender to the server of `settings`.
    pub fn new(settings: &MailSettings) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.smtp_url)
            .map_err(|e| MailError::Url(e.to_string()))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from = settings
            .from
            .parse()
            .map_err(|_| MailError::From(settings.from.clone()))?;
        Ok(Mailer { transport, from })
    }

    /// Sends what is due; returns how many were sent.
    pub async fn send_due(&self, pool: &PgPool) -> Result<usize, sqlx::Error> {
        let mut due: Vec<Outgoing> = sqlx::query_as(include_str!("sql/outbox_lease.sql"))
            .bind(BATCH)
            .fetch_all(pool)
            .await?;
        // Oldest first (`RETURNING` keeps no order).
        due.sort_by_key(|m| m.id);
        let mut sent = 0;
        for message in due {
            match self.send(&message).await {
                Ok(()) => {
                    sqlx::query(
                        "UPDATE mail_outbox SET sent_at = now(), last_error = NULL WHERE id = $1",
                    )
                    .bind(message.id)
                    .execute(pool)
                    .await?;
                    sent += 1;
                }
                Err(Failure { text, permanent }) => {
                    tracing::warn!(
                        "mail {} failed (attempt {}{}): {text}",
                        message.id,
                        message.attempts,
                        if permanent { ", given up" } else { "" }
                    );
                    // A permanent failure (an address the server refuses) is kept, never retried.
                    let wait = if permanent {
                        f64::INFINITY
                    } else {
                        backoff(message.attempts).as_secs_f64()
                    };
                    sqlx::query(
                        "UPDATE mail_outbox SET last_error = $2,
                                next_attempt_at = CASE WHEN $3 = 'Infinity'::float8 THEN 'infinity'
                                                       ELSE now() + make_interval(secs => $3) END
                         WHERE id = $1",
                    )
                    .bind(message.id)
                    .bind(text.chars().take(500).collect::<String>())
                    .bind(wait)
                    .execute(pool)
                    .await?;
                }
            }
        }
        Ok(sent)
    }

    async fn send(&self, message: &Outgoing) -> Result<(), Failure> {
        let to: lettre::Address = message.to_addr.parse().map_err(|e| Failure {
            text: format!("the address is not usable: {e}"),
            permanent: true,
        })?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(&message.subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| Failure {
                text: e.to_string(),
                permanent: true,
            })?;
        self.transport
            .send(email)
            .await
            .map(|_| ())
            .map_err(|e| Failure {
                permanent: e.is_permanent(),
                text: e.to_string(),
            })
    }
}

/// Why a message was not sent, and whether trying again can help.
struct Failure {
    text: String,
    permanent: bool,
}

/// How long after its `attempts`-th failure a message is tried again.
fn backoff(attempts: i32) -> Duration {
    let doublings = attempts.clamp(1, 12) as u32 - 1;
    Duration::from_secs((5u64 << doublings).min(3600))
}

/// Runs the sender until aborted: at each wake-up call and every [`POLL`].
pub fn spawn(pool: PgPool, mailer: Mailer, wake: Arc<Notify>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match mailer.send_due(&pool).await {
                // A full batch: more may be waiting.
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!("reading the mail outbox failed: {e}"),
            }
            let _ = tokio::time::timeout(POLL, wake.notified()).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_message_waits_longer_each_time_but_at_most_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(5));
        assert_eq!(backoff(2), Duration::from_secs(10));
        assert_eq!(backoff(5), Duration::from_secs(80));
        assert_eq!(backoff(12), Duration::from_secs(3600));
        assert_eq!(backoff(1000), Duration::from_secs(3600));
    }

    #[test]
    fn settings_name_what_is_wrong() {
        let bad_url = MailSettings {
            smtp_url: "ftp://x".into(),
            from: "a@b.id".into(),
        };
        assert!(matches!(Mailer::new(&bad_url), Err(MailError::Url(_))));
        let bad_from = MailSettings {
            smtp_url: "smtp://127.0.0.1:2525".into(),
            from: "not an address".into(),
        };
        assert!(matches!(Mailer::new(&bad_from), Err(MailError::From(_))));
    }
}
