//! E-mail from the durable outbox (spec §6.13): a notification is written in the same
//! transaction as the entry that causes it, and this loop sends it. A server that crashes,
//! or a relay that is down, loses nothing: the message stays due, is retried with backoff,
//! and a claim keeps two servers from sending it at the same time. Delivery is at least
//! once. No message carries a secret: they say what happened and where to look.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};
use zt_core::{NotificationKind, UnixTime};
use zt_store::{OutboxMessage, Store};
use zt_store_sql::SqlStore;

use crate::accounts::Accounts;
use crate::error::ServerError;

/// How long a claimed message is left to one sender before another may try.
const CLAIM_SECONDS: u64 = 120;
/// Messages sent per pass.
const BATCH: u32 = 50;

/// Where mail goes: an SMTP relay, or the log when none is configured.
#[derive(Clone, Debug)]
pub enum Mailer {
    /// An SMTP relay.
    Smtp {
        /// The connection to the relay.
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        /// The sender.
        from: Mailbox,
    },
    /// No relay: each message is logged instead.
    Log,
}

impl Mailer {
    /// A mailer for `url` (`smtp://host:port`, `smtps://…` or `smtp://…?tls=required`, as
    /// lettre reads them), sending as `from`; the log when `url` is `None`.
    pub fn new(url: Option<&str>, from: &str) -> Result<Mailer, ServerError> {
        let Some(url) = url else {
            return Ok(Mailer::Log);
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|error| ServerError::Mail(format!("SMTP URL: {error}")))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from = from
            .parse()
            .map_err(|_| ServerError::Invalid(format!("not an e-mail address: {from:?}")))?;
        Ok(Mailer::Smtp {
            transport: Box::new(transport),
            from,
        })
    }

    async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), ServerError> {
        match self {
            Mailer::Log => {
                tracing::info!(%to, %subject, "mail (no SMTP relay configured)");
                Ok(())
            }
            Mailer::Smtp { transport, from } => {
                let to: Mailbox = to
                    .parse()
                    .map_err(|_| ServerError::Mail(format!("bad recipient {to:?}")))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(subject)
                    .body(body)
                    .map_err(|error| ServerError::Mail(error.to_string()))?;
                transport
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|error| ServerError::Mail(error.to_string()))
            }
        }
    }
}

/// The subject and body of a notification, for the recipient (`about` is the subject
/// agent's e-mail; `own` whether the recipient is that agent).
pub fn compose(kind: NotificationKind, about: &str, own: bool) -> (String, String) {
    let (subject, body) = match (kind, own) {
        (NotificationKind::KeyApproved, _) => (
            "Your zt signature key was approved".to_owned(),
            "An approver compared your verification code and approved your new signature key. It is active now; your previous key, if any, is revoked.".to_owned(),
        ),
        (NotificationKind::KeyRecovered, true) => (
            "Your zt signature key was reset with your recovery file".to_owned(),
            "Your new signature key is active and your recovery file is spent: create a new one. If you did not do this, tell an admin at once.".to_owned(),
        ),
        (NotificationKind::KeyRecovered, false) => (
            format!("{about} reset their zt signature key with a recovery file"),
            format!("{about} reset their signature key with their recovery file, without approval. If this is unexpected, revoke the key."),
        ),
        (NotificationKind::KeyRevoked, _) => (
            "Your zt signature key was revoked".to_owned(),
            "Your signature key no longer authorizes tasks. Request a new key if you still need one.".to_owned(),
        ),
        (NotificationKind::OrganizationReset, _) => (
            "Your organization's zt keys were reset".to_owned(),
            "Support reset your organization: every signature key was ended. The next key created is the organization's new first key; devices must be redeployed with the new trust root.".to_owned(),
        ),
    };
    (subject, body)
}

/// When to try again after `attempts` failed deliveries: `base` seconds, doubling, at
/// most an hour.
pub fn retry_time(now: UnixTime, base: u64, attempts: u32) -> UnixTime {
    now.plus(base.saturating_mul(1u64 << attempts.min(16)).min(3600))
}

/// Sends what is due at `now`, retrying failures after `retry_base` seconds (doubling);
/// returns how many messages were sent.
pub async fn drain_outbox(
    store: &SqlStore,
    accounts: &Accounts,
    mailer: &Mailer,
    now: UnixTime,
    retry_base: u64,
) -> Result<usize, ServerError> {
    let mut sent = 0;
    for message in store.due_notifications(now, BATCH).await? {
        if !store
            .claim_notification(message.id, now, now.plus(CLAIM_SECONDS))
            .await?
        {
            continue; // another server has it
        }
        match deliver(accounts, mailer, &message).await {
            Ok(()) => {
                store.notification_sent(message.id).await?;
                sent += 1;
            }
            Err(error) => {
                let retry = retry_time(now, retry_base, message.attempts);
                tracing::warn!(id = message.id, attempts = message.attempts, %error, retry_at = %retry, "mail not delivered; will retry");
                store.notification_failed(message.id, retry).await?;
            }
        }
    }
    Ok(sent)
}

async fn deliver(
    accounts: &Accounts,
    mailer: &Mailer,
    message: &OutboxMessage,
) -> Result<(), ServerError> {
    let notification = &message.notification;
    let about = accounts
        .email_of(message.org, notification.subject)
        .await?
        .unwrap_or_else(|| notification.subject.to_string());
    for recipient in &notification.recipients {
        let Some(to) = accounts.email_of(message.org, *recipient).await? else {
            tracing::warn!(id = message.id, agent = %recipient, "no e-mail address for a recipient; skipped");
            continue;
        };
        let (subject, body) = compose(
            notification.kind,
            &about,
            *recipient == notification.subject,
        );
        mailer.send(&to, &subject, body).await?;
    }
    Ok(())
}
