"""The deliver and import forms: they validate, nothing else.

pymap accepts arbitrary bytes in user and mailbox names, flags and addresses,
so everything is checked here before any call: names without control
characters, flags that are IMAP system flags or keyword atoms (RFC 3501),
envelope addresses without line breaks. ``fields.py`` holds the fields and
checks both forms share; ``deliver.py`` and ``imports.py`` one form each.
"""
