"""Helpers the tests share: users, sessions, mail, the fake servicer, what the server kept."""
