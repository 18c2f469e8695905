"""Reading a pymap backend's own user store, for the full user list.

pymap's admin API cannot list users; where the operator gives the panel read
access (adminpanel/pymap/store_access.py), this package reads the store
pymap itself keeps: Redis keys (redis_store.py) or the maildir backend's
passwd and group files (maildir_files.py). It only reads, and it never
returns a password hash. listing.py is the way in.
"""
