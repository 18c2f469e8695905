"""users/merge.py: comparing values, re-applying an edit, telling a version apart."""

from __future__ import annotations

from adminpanel.pymap.backends import Backend, capabilities
from adminpanel.pymap.results import UserRecord
from adminpanel.users.merge import (
    Change,
    UserValues,
    Version,
    changed_fields,
    compare,
    keep_line_breaks,
    rebase,
    sorted_roles,
    unchanged_since,
)

DICT = capabilities([Backend.DICT])
MAILDIR = capabilities([Backend.MAILDIR])


def test_the_admin_role_sorts_first_and_roles_are_unique() -> None:
    assert sorted_roles(["staff", "admin", "auditor", "staff"]) == ("admin", "auditor", "staff")


def test_changed_fields_names_roles_and_each_param_never_a_value() -> None:
    before = UserValues.of(["a"], {"quota": "1", "gone": "x", "same": "s"})
    after = UserValues.of(["b"], {"quota": "2", "new": "y", "same": "s"})
    assert changed_fields(before, after) == ["roles", "params.gone", "params.new", "params.quota"]
    assert changed_fields(before, before) == []
    # Roles are a set: order alone is no change.
    assert changed_fields(UserValues(("a", "b")), UserValues(("b", "a"))) == []


def test_a_browsers_crlf_is_undone_only_where_the_operator_left_the_value_alone() -> None:
    base = UserValues((), {"note": "a\nb", "other": "x"})
    yours = UserValues(("r",), {"note": "a\r\nb", "other": "y\r\nz", "new": "n\r\n"})
    kept = keep_line_breaks(base, yours)
    assert kept == UserValues(("r",), {"note": "a\nb", "other": "y\r\nz", "new": "n\r\n"})


def test_rebase_keeps_the_other_operators_change_and_applies_yours() -> None:
    base = UserValues.of(["staff"], {"quota": "1", "note": "old"})
    yours = UserValues.of(["staff", "editor"], {"quota": "2", "note": "old"})
    current = UserValues.of(["staff", "auditor"], {"quota": "1", "note": "theirs"})
    assert rebase(base, yours, current) == UserValues.of(
        ["staff", "auditor", "editor"], {"quota": "2", "note": "theirs"}
    )


def test_rebase_removes_what_you_removed_even_if_someone_else_kept_it() -> None:
    base = UserValues.of(["staff"], {"quota": "1"})
    yours = UserValues.of([], {})
    current = UserValues.of(["staff"], {"quota": "1", "extra": "e"})
    assert rebase(base, yours, current) == UserValues.of([], {"extra": "e"})


def test_compare_says_who_changed_each_line() -> None:
    base = UserValues.of(["staff"], {"a": "1", "b": "1", "c": "1", "d": "1"})
    yours = UserValues.of(["staff"], {"a": "2", "b": "1", "c": "2", "d": "2"})
    current = UserValues.of(["admin"], {"a": "1", "b": "3", "c": "3", "d": "2"})
    rows = {row.label: row for row in compare(base, yours, current)}
    assert rows["Roles"].change == Change.THEIRS
    assert rows["Parameter a"].change == Change.YOURS
    assert rows["Parameter b"].change == Change.THEIRS
    assert rows["Parameter c"].change == Change.BOTH
    assert rows["Parameter d"].change == Change.NONE  # both made the same change
    assert (rows["Parameter c"].yours, rows["Parameter c"].current) == ("2", "3")
    assert rows["Parameter c"].proposed == "2"


def _record(tag: int, roles: tuple[str, ...] = (), fingerprint: str = "f1") -> UserRecord:
    return UserRecord("u", tag, roles, {"q": "1"}, True, "pbkdf2-sha256", fingerprint)


def test_where_tags_are_checked_the_tag_alone_tells_a_newer_version() -> None:
    version = Version(7, UserValues.of([], {"q": "1"}), "f1")
    assert unchanged_since(version, _record(7, roles=("admin",)), DICT)
    assert not unchanged_since(version, _record(8), DICT)
    assert not unchanged_since(Version(None, version.values, "f1"), _record(0), DICT)


def test_without_tags_maildir_compares_roles_params_and_the_password() -> None:
    version = Version(0, UserValues.of([], {"q": "1"}), "f1")
    assert unchanged_since(version, _record(0), MAILDIR)
    assert not unchanged_since(version, _record(0, roles=("admin",)), MAILDIR)
    assert not unchanged_since(version, _record(0, fingerprint="f2"), MAILDIR)
