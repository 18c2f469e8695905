"""The rule builder's Sieve: rules in, readable Sieve out, and back.

Only what pymap 0.36.7's Sieve runs (its ManageSieve advertises ``fileinto
reject envelope body``): a test of a header, an address, the envelope or the
body with ``:is``, ``:contains`` or ``:matches``, then fileinto a mailbox,
discard, reject with a reason, or keep; each rule ends with ``stop``. The
script starts with :data:`MARKER`; :func:`read` gives back the rules of a
script this module wrote, and None for any other (shown in the plain editor).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKER = "# Rules made in the pymap admin panel (rule builder)."
TESTS = ("header", "address", "envelope", "body")
MATCHES = ("is", "contains", "matches")
ACTIONS = ("fileinto", "discard", "reject", "keep")
_EXTENSION = {"fileinto": "fileinto", "reject": "reject", "envelope": "envelope", "body": "body"}


@dataclass(frozen=True)
class Rule:
    test: str  # one of TESTS
    field: str  # header or address part name; "" for body
    match: str  # one of MATCHES
    value: str
    action: str  # one of ACTIONS
    argument: str = ""  # the mailbox for fileinto, the reason for reject


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def write(rules: list[Rule]) -> str:
    needed = sorted(
        {_EXTENSION[r.test] for r in rules if r.test in _EXTENSION}
        | {_EXTENSION[r.action] for r in rules if r.action in _EXTENSION}
    )
    lines = [MARKER]
    if needed:
        lines.append("require [" + ", ".join(_quote(n) for n in needed) + "];")
    for number, rule in enumerate(rules, start=1):
        if rule.test == "body":
            condition = f"body :{rule.match} {_quote(rule.value)}"
        else:
            condition = f"{rule.test} :{rule.match} {_quote(rule.field)} {_quote(rule.value)}"
        if rule.action == "fileinto":
            action = f"fileinto {_quote(rule.argument)};"
        elif rule.action == "reject":
            action = f"reject {_quote(rule.argument)};"
        else:
            action = f"{rule.action};"
        lines += ["", f"# Rule {number}", f"if {condition} {{", f"    {action}", "    stop;", "}"]
    return "\n".join(lines) + "\n"


_STRING = r'"((?:[^"\\]|\\.)*)"'
_RULE = re.compile(
    r"# Rule \d+\nif (?P<test>header|address|envelope|body) :(?P<match>is|contains|matches) "
    rf"(?:{_STRING} )?{_STRING} \{{\n    (?P<action>fileinto|reject|discard|keep)"
    rf"(?: {_STRING})?;\n    stop;\n\}}"
)


def read(script: str) -> list[Rule] | None:
    """The rules of a script :func:`write` made, or None."""
    # pymap hands a script back without its last line break.
    text = script.replace("\r\n", "\n").rstrip("\n") + "\n"
    if not text.startswith(MARKER + "\n"):
        return None
    rules = []
    for found in _RULE.finditer(text):
        field, value = found.group(3), found.group(4)
        rules.append(
            Rule(
                test=found["test"],
                field=_unquote(field) if field is not None else "",
                match=found["match"],
                value=_unquote(value),
                action=found["action"],
                argument=_unquote(found.group(6) or ""),
            )
        )
    return rules if write(rules) == text else None
