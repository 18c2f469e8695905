"""The rule builder's Sieve, without a server: readable out, the same rules back."""

from __future__ import annotations

from adminpanel.sieve.rules import MARKER, Rule, read, write


def test_rules_round_trip_with_quotes_and_every_kind() -> None:
    rules = [
        Rule("header", "X-Spam-Flag", "is", "YES", "fileinto", "Junk"),
        Rule("address", "from", "contains", 'boss "big" \\ one', "keep"),
        Rule("envelope", "to", "matches", "*@example.org", "reject", "Not here"),
        Rule("body", "", "contains", "unsubscribe", "discard"),
    ]
    script = write(rules)
    assert script.startswith(MARKER)
    assert 'require ["body", "envelope", "fileinto", "reject"];' in script
    assert 'if address :contains "from" "boss \\"big\\" \\\\ one" {' in script
    assert read(script) == rules
    assert read(script.rstrip("\n").replace("\n", "\r\n")) == rules  # as the server hands it back


def test_a_script_the_builder_did_not_write_is_not_read_as_rules() -> None:
    assert read("keep;\n") is None
    edited = write([Rule("header", "X", "is", "Y", "discard")]).replace(
        "discard;", "keep; discard;"
    )
    assert read(edited) is None


def test_no_rules_is_a_script_that_keeps_everything() -> None:
    assert write([]) == MARKER + "\n"
    assert read(MARKER + "\n") == []
