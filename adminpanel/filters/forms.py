"""The forms of the filter pages; they only validate."""

from __future__ import annotations

import re

from django import forms

from adminpanel.mailboxes.forms import validate_mailbox_name
from adminpanel.sieve.rules import ACTIONS, MATCHES, TESTS, Rule

MAX_SCRIPT = 64 * 1024
_SCRIPT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")


def validate_script_name(value: str) -> None:
    if not _SCRIPT_NAME.fullmatch(value):
        raise forms.ValidationError(
            "Use letters, digits, spaces, '.', '_' or '-' (64 at most), starting with a "
            "letter or digit."
        )


class ScriptForm(forms.Form):
    script_name = forms.CharField(
        label="Script name", max_length=64, validators=[validate_script_name]
    )
    content = forms.CharField(
        label="Sieve script",
        strip=False,
        max_length=MAX_SCRIPT,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false", "class": "code"}),
    )
    activate = forms.BooleanField(label="Make this the active script", required=False)


class RuleForm(forms.Form):
    test = forms.ChoiceField(
        label="When",
        choices=[
            (
                t,
                {
                    "header": "a header",
                    "address": "an address header",
                    "envelope": "the envelope",
                    "body": "the body",
                }[t],
            )
            for t in TESTS
        ],
        initial="header",
    )
    field = forms.CharField(
        label="Header or part",
        max_length=100,
        required=False,
        help_text="e.g. X-Spam-Flag, Subject; from or to for an address or the envelope",
    )
    match = forms.ChoiceField(
        label="Matches",
        choices=[
            (m, {"is": "is", "contains": "contains", "matches": "matches (* and ?)"}[m])
            for m in MATCHES
        ],
        initial="is",
    )
    value = forms.CharField(label="Value", max_length=500, strip=False)
    action = forms.ChoiceField(
        label="Then",
        choices=[
            (
                a,
                {
                    "fileinto": "file into mailbox",
                    "discard": "discard",
                    "reject": "reject with reason",
                    "keep": "keep in INBOX",
                }[a],
            )
            for a in ACTIONS
        ],
        initial="fileinto",
    )
    argument = forms.CharField(
        label="Mailbox or reason", max_length=500, required=False, strip=False
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        test, action = data.get("test"), data.get("action")
        if test in ("header", "address", "envelope") and not data.get("field"):
            self.add_error("field", "Name the header (or address part) to test.")
        if action == "fileinto":
            try:
                validate_mailbox_name(str(data.get("argument") or ""))
            except forms.ValidationError as exc:
                if str(data.get("argument")) != "INBOX":
                    self.add_error("argument", exc)
        if action == "reject" and not data.get("argument"):
            self.add_error("argument", "Give the reason the sender will read.")
        for key in ("field", "value", "argument"):
            if any(ord(ch) < 32 for ch in str(data.get(key) or "")):
                self.add_error(key, "No line breaks or control characters.")
        return data

    def rule(self) -> Rule:
        data = self.cleaned_data
        return Rule(
            test=data["test"],
            field="" if data["test"] == "body" else data["field"],
            match=data["match"],
            value=data["value"],
            action=data["action"],
            argument=data["argument"] if data["action"] in ("fileinto", "reject") else "",
        )


RuleFormSet = forms.formset_factory(RuleForm, extra=1, max_num=20, validate_max=True)


class RulesMetaForm(forms.Form):
    script_name = forms.CharField(
        label="Script name", max_length=64, validators=[validate_script_name]
    )
    activate = forms.BooleanField(label="Make this the active script", required=False, initial=True)


class TryForm(forms.Form):
    message = forms.CharField(
        label="Sample message",
        strip=False,
        max_length=256 * 1024,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "code"}),
        initial=(
            "From: sender@example.org\nTo: you@example.org\nSubject: Sample\n"
            "X-Spam-Flag: YES\n\nA sample message.\n"
        ),
        help_text="Headers, an empty line, then the body. It is delivered to your own INBOX "
        "through Append, which runs your active script.",
    )
