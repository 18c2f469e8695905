"""IMAP as a user (SASL PLAIN with an authorization identity), over imaplib."""
