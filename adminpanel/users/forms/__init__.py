"""Forms for the user pages. They only validate; the views talk to pymap.

Everything a person types is checked here, before any RPC: pymap itself
accepts empty names and arbitrary bytes (PYMAP.md), so these rules are the
only ones there are. Text inputs carry no ``maxlength``: a browser would cut
a pasted value silently, and a name or password that is not what was typed
is worse than a clear "too long" error.

``roles.py`` and ``params.py`` hold the two halves of a record that the
create and edit forms (``create.py``, ``edit.py``) share; ``lookup.py`` the
name to look up; the password fields are in ``users/password_forms.py``.
"""
