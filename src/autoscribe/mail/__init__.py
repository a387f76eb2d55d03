"""Outgoing email: SMTP when AUTOSCRIBE_SMTP_URL is set, otherwise a local outbox directory."""

from autoscribe.mail.sender import MailError, OutgoingMail, check_configuration, send_mail

__all__ = ["MailError", "OutgoingMail", "check_configuration", "send_mail"]
