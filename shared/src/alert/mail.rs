//! Sending mail over SMTP with lettre (guide §8.6 settings), with bounded
//! timeouts so a dead server answers with an error, never a hang.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Rendered;
use crate::settings::{SmtpSettings, SmtpTls};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP is not configured (SMTP_HOST)")]
    NotConfigured,
    #[error("no recipients are configured (NEXUS_ALERT_TO)")]
    NoRecipients,
    #[error("invalid address {address:?}: {reason}")]
    BadAddress { address: String, reason: String },
    #[error("SMTP server {server}: {reason}")]
    Smtp { server: String, reason: String },
}

impl MailError {
    pub fn code(&self) -> &'static str {
        match self {
            MailError::NotConfigured => "smtp_not_configured",
            MailError::NoRecipients => "no_recipients",
            MailError::BadAddress { .. } => "invalid_mail_address",
            MailError::Smtp { .. } => "smtp_error",
        }
    }
}

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// Bound on the whole exchange, whatever the server does.
    deadline: Duration,
    server: String,
    from: Mailbox,
    to: Vec<Mailbox>,
}

fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address
        .parse()
        .map_err(|e: lettre::address::AddressError| MailError::BadAddress {
            address: address.to_owned(),
            reason: e.to_string(),
        })
}

impl Mailer {
    pub fn new(smtp: &SmtpSettings) -> Result<Mailer, MailError> {
        let host = smtp
            .host
            .as_deref()
            .filter(|h| !h.is_empty())
            .ok_or(MailError::NotConfigured)?;
        if smtp.alert_to.is_empty() {
            return Err(MailError::NoRecipients);
        }
        let server = format!("{host}:{}", smtp.port);
        let smtp_err = |e: lettre::transport::smtp::Error| MailError::Smtp {
            server: server.clone(),
            reason: e.to_string(),
        };
        let tls = match (smtp.tls, smtp.port) {
            (SmtpTls::Auto, 465) | (SmtpTls::Tls, _) => SmtpTls::Tls,
            (SmtpTls::Auto, 587) | (SmtpTls::Starttls, _) => SmtpTls::Starttls,
            _ => SmtpTls::None,
        };
        let builder = match tls {
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(smtp_err)?,
            SmtpTls::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(smtp_err)?
            }
            _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        };
        let mut builder = builder
            .port(smtp.port)
            .timeout(Some(Duration::from_secs(smtp.timeout_secs.max(1))));
        if let (Some(user), Some(password)) = (&smtp.user, &smtp.password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Mailer {
            transport: builder.build(),
            deadline: Duration::from_secs(smtp.timeout_secs.max(1) * 3),
            server,
            from: mailbox(&smtp.from)?,
            to: smtp
                .alert_to
                .iter()
                .map(|a| mailbox(a))
                .collect::<Result<_, _>>()?,
        })
    }

    pub fn recipients(&self) -> Vec<String> {
        self.to.iter().map(|m| m.email.to_string()).collect()
    }

    /// Sends one mail to every recipient. Each step waits at most the
    /// configured timeout and the whole exchange at most three times it, so
    /// a server that stalls mid-dialogue is an error, not a hang.
    pub async fn send(&self, mail: &Rendered) -> Result<Vec<String>, MailError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(&mail.subject);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let message = builder
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| MailError::Smtp {
                server: self.server.clone(),
                reason: e.to_string(),
            })?;
        let smtp_err = |reason: String| MailError::Smtp {
            server: self.server.clone(),
            reason,
        };
        tokio::time::timeout(self.deadline, self.transport.send(message))
            .await
            .map_err(|_| smtp_err(format!("no answer within {} s", self.deadline.as_secs())))?
            .map_err(|e| smtp_err(e.to_string()))?;
        Ok(self.recipients())
    }
}
