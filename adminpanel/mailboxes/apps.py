from django.apps import AppConfig


class MailboxesConfig(AppConfig):
    name = "adminpanel.mailboxes"
    label = "mailboxes"
    verbose_name = "A user's mailboxes over IMAP"
