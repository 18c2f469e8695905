"""The fields and checks the deliver and import forms share: the target user
and mailbox, flags and keywords, and what a mailbox name, envelope address,
header line or IMAP keyword may be."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

from adminpanel.lib.form_fields import VisibleTextField, text_input
from adminpanel.lib.validators import has_control, validate_user_name

from ..compose import MAX_HEADER_LENGTH
from ..flags import SYSTEM_FLAGS

_SYSTEM_FLAGS_BY_NAME = {flag.lower(): flag for flag in SYSTEM_FLAGS}
#: RFC 3501 atom-specials besides controls and space: ( ) { % * " \ ]
_ATOM_SPECIALS = frozenset('(){%*"\\]')
MAX_KEYWORD_LENGTH = 100
MAX_KEYWORDS = 50
MAX_MAILBOX_LENGTH = 1000
MAX_ADDRESS_LENGTH = 320


def validate_mailbox_name(value: str) -> None:
    """Mailbox names may have spaces ("Sent Items") but no control characters."""
    if not value.strip():
        raise ValidationError("Enter a mailbox name.", code="empty")
    if len(value) > MAX_MAILBOX_LENGTH:
        raise ValidationError(
            f"A mailbox name can be at most {MAX_MAILBOX_LENGTH} characters.", code="too_long"
        )
    if has_control(value):
        raise ValidationError(
            "A mailbox name cannot contain control characters (such as line breaks).",
            code="control",
        )


def validate_envelope_address(value: str) -> None:
    if len(value) > MAX_ADDRESS_LENGTH:
        raise ValidationError(
            f"An address can be at most {MAX_ADDRESS_LENGTH} characters.", code="too_long"
        )
    if has_control(value) or any(ch.isspace() for ch in value):
        raise ValidationError(
            "An address cannot contain spaces, line breaks or other control characters.",
            code="control",
        )


def validate_header_text(value: str) -> None:
    """One line of header text (a Subject): no line breaks, not overlong."""
    if len(value) > MAX_HEADER_LENGTH:
        raise ValidationError(
            f"This can be at most {MAX_HEADER_LENGTH} characters.", code="too_long"
        )
    if has_control(value):
        raise ValidationError(
            "This cannot contain line breaks or other control characters.", code="control"
        )


def is_keyword_atom(value: str) -> bool:
    """An IMAP keyword: 1+ printable ASCII characters, none an atom-special."""
    return bool(value) and all(0x21 <= ord(ch) <= 0x7E and ch not in _ATOM_SPECIALS for ch in value)


def _quoted(word: str) -> str:
    """A word for an error message: as typed when printable (``"\\Recent"``, not
    repr's doubled backslash), else repr, so a control character shows."""
    word = word[:40]
    return f"\u201c{word}\u201d" if word.isprintable() else repr(word)


def parse_keywords(text: str) -> list[str]:
    """Space-separated keywords (``$Label1 Project-X``) as a list.

    System flags typed here are accepted in any case and written the usual
    way; ``\\Recent`` and unknown backslash flags are refused.
    """
    keywords: list[str] = []
    problems: list[str] = []
    for word in text.split():
        if word.startswith("\\"):
            flag = _SYSTEM_FLAGS_BY_NAME.get(word.lower())
            if flag is None:
                problems.append(
                    f"{_quoted(word)} is not a flag a message can be given "
                    f"(system flags: {' '.join(SYSTEM_FLAGS)})."
                )
            elif flag not in keywords:
                keywords.append(flag)
            continue
        if len(word) > MAX_KEYWORD_LENGTH:
            problems.append(f"Keywords can be at most {MAX_KEYWORD_LENGTH} characters.")
        elif not is_keyword_atom(word):
            problems.append(
                f"{_quoted(word)} is not an IMAP keyword: use ASCII letters, digits and "
                'punctuation other than ( ) { } % * " \\ ].'
            )
        elif word not in keywords:
            keywords.append(word)
    if len(keywords) > MAX_KEYWORDS:
        problems.append(f"At most {MAX_KEYWORDS} keywords.")
    if problems:
        raise ValidationError(problems, code="keyword")
    return keywords


class FlagsMixin(forms.Form):
    """The system flags (checkboxes) and keywords (text) each message is given."""

    flags = forms.MultipleChoiceField(
        label="Flags",
        required=False,
        choices=[(flag, flag[1:]) for flag in SYSTEM_FLAGS],
        widget=forms.CheckboxSelectMultiple,
    )
    keywords = forms.CharField(
        label="Keywords",
        required=False,
        # A validator, not max_length: no maxlength for the browser to cut at.
        validators=[MaxLengthValidator(2000)],
        help_text="Custom flags, separated by spaces, e.g. $Label1 Important.",
        widget=text_input(),
    )

    def clean_keywords(self) -> list[str]:
        return parse_keywords(self.cleaned_data.get("keywords") or "")

    def all_flags(self) -> list[str]:
        """The chosen system flags, then the keywords, without repeats."""
        chosen = list(self.cleaned_data.get("flags") or [])
        for keyword in self.cleaned_data.get("keywords") or []:
            if keyword not in chosen:
                chosen.append(keyword)
        return chosen


class TargetMixin(forms.Form):
    """The user and mailbox the messages go to."""

    user = VisibleTextField(
        label="User", required=True, validators=[validate_user_name], widget=text_input()
    )
    mailbox = VisibleTextField(
        label="Mailbox",
        required=True,
        initial="INBOX",
        validators=[validate_mailbox_name],
        help_text="It must exist already: the mail server does not create it.",
    )
