"""users/backend_rules.py: what each backend cannot store as given (PYMAP.md)."""

from __future__ import annotations

from adminpanel.pymap.backends import Backend, capabilities
from adminpanel.users import backend_rules

DICT = capabilities([Backend.DICT])
MAILDIR = capabilities([Backend.MAILDIR])
REDIS = capabilities([Backend.REDIS])


def test_a_comma_in_a_name_is_refused_on_maildir_only() -> None:
    [problem] = backend_rules.name_problems(MAILDIR, "a,b")
    assert problem.startswith("A user name cannot contain ',' on this server (maildir)")
    assert backend_rules.name_problems(DICT, "a,b") == []
    assert backend_rules.name_problems(REDIS, "a,b") == []


def test_redis_stores_one_role() -> None:
    [problem] = backend_rules.role_problems(REDIS, ["a", "b"])
    assert "at most 1 role per user; this user would have 2" in problem
    assert backend_rules.role_problems(REDIS, ["a"]) == []
    assert backend_rules.role_problems(DICT, ["a", "b"]) == []


def test_redis_reads_a_param_named_role_as_the_users_role() -> None:
    problems = backend_rules.param_problems(REDIS, {"role": "admin", "quota": "1"})
    assert list(problems) == ["role"]
    assert backend_rules.param_problems(DICT, {"role": "admin"}) == {}


def test_maildir_keeps_only_the_mailbox_path_and_no_line_break_in_it() -> None:
    problems = backend_rules.param_problems(MAILDIR, {"quota": "1", "mailbox_path": "a\nb"})
    assert "would be dropped without a word" in problems["quota"]
    assert "line break" in problems["mailbox_path"]
    assert backend_rules.param_problems(MAILDIR, {"mailbox_path": "users/a"}) == {}


def test_a_mailbox_path_outside_the_base_or_changed_needs_confirming_on_maildir() -> None:
    warn = backend_rules.mailbox_path_warning
    assert warn(MAILDIR, "u", {"mailbox_path": "u"}, None) is None
    outside = warn(MAILDIR, "u", {"mailbox_path": "../x"}, None)
    assert outside is not None
    assert "lies outside the server's mail directory" in outside
    moved = warn(MAILDIR, "u", {"mailbox_path": "v"}, {"mailbox_path": "u"})
    assert moved is not None
    assert "changes from 'u' to 'v'" in moved
    assert warn(MAILDIR, "/abs", {}, None) is not None  # the default is the user's name
    assert warn(DICT, "u", {"mailbox_path": "/abs"}, None) is None  # an ordinary param there
