"""users/editable.py: what a browser form cannot carry back unchanged."""

from __future__ import annotations

from adminpanel.users.editable import PasswordAction, not_editable


def test_plain_roles_and_params_are_editable() -> None:
    assert not_editable(["admin", "staff"], {"quota": "5G", "note": "two\nlines"}) == []


def test_a_role_with_a_line_break_or_a_value_with_nul_is_not() -> None:
    problems = not_editable(["good", "bad\nrole"], {"ok": "1", "nul": "a\x00b"})
    assert len(problems) == 2
    assert problems[0].startswith("role 'bad\\nrole': ")
    assert problems[1].startswith("parameter 'nul': ")


def test_a_problem_names_at_most_60_characters_of_the_role() -> None:
    [problem] = not_editable(["x" * 200 + "\n"], {})
    assert problem.startswith(f"role {'x' * 60!r}: ")


def test_only_generate_and_new_set_a_new_password() -> None:
    assert {PasswordAction.GENERATE, PasswordAction.NEW} == PasswordAction.SETS_NEW
    assert PasswordAction.KEEP not in PasswordAction.SETS_NEW
    assert PasswordAction.REMOVE not in PasswordAction.SETS_NEW
