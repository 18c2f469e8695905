"""Helpers the apps share, with no view or model of their own: reading the
environment, validating names, SASLprep, sealing tokens, redacting logs,
display filters, the client's address."""
