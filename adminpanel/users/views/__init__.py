"""The user pages, one module per area: lookup, create, edit, password, delete."""
