"""Development and test helpers; not part of the deployed panel.

:mod:`devtools.pymap_process` runs a real pymap server in a child process;
``python -m devtools.pymap_server`` runs one by hand.
"""
