"""The forms of a rendered page, as a browser would submit them.

Used by the hostile-input sweep to find every form generically, and by the
load scripts to fill forms as a browser would: the page is
parsed, and each form's fields and their default values (checked radio,
selected option, pre-filled value) become the baseline submission.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

#: Input types that submit no value of their own.
_NOT_SUBMITTED = frozenset({"submit", "button", "reset", "image"})


@dataclass
class FormField:
    name: str
    kind: str  #: the input type, "textarea" or "select"
    value: str = ""  #: what a browser sends when the user changes nothing
    options: list[str] = field(default_factory=list)  #: radio and select values


@dataclass
class HtmlForm:
    action: str
    method: str  #: "get" or "post"
    multipart: bool
    fields: dict[str, FormField] = field(default_factory=dict)

    @property
    def signature(self) -> tuple[str, str, tuple[str, ...]]:
        """Identifies the same form on different pages (the header's sign-out)."""
        return self.action, self.method, tuple(sorted(self.fields))

    def defaults(self) -> dict[str, str]:
        """What a browser submits unchanged: no files, no unchecked boxes or radios."""
        return {
            name: f.value
            for name, f in self.fields.items()
            if f.kind != "file" and not (f.kind in {"checkbox", "radio"} and not f.value)
        }


class _FormParser(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[HtmlForm] = []
        self._form: HtmlForm | None = None
        self._select: FormField | None = None
        self._textarea: FormField | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = HtmlForm(
                action=urljoin(self.page_url, a.get("action") or self.page_url),
                method=(a.get("method") or "get").lower(),
                multipart=a.get("enctype", "") == "multipart/form-data",
            )
            self.forms.append(self._form)
            return
        form = self._form
        if form is None or not a.get("name"):
            if tag == "option" and self._select is not None:
                self._option(a)
            return
        name = a["name"]
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in _NOT_SUBMITTED:
                return
            entry = form.fields.setdefault(name, FormField(name, kind))
            if kind in {"radio", "checkbox"}:
                entry.options.append(a.get("value", "on"))
                if "checked" in a:
                    entry.value = a.get("value", "on")
            else:
                entry.value = a.get("value", "")
        elif tag == "textarea":
            self._textarea = form.fields.setdefault(name, FormField(name, "textarea"))
        elif tag == "select":
            self._select = form.fields.setdefault(name, FormField(name, "select"))

    def _option(self, a: dict[str, str]) -> None:
        assert self._select is not None
        value = a.get("value", "")
        self._select.options.append(value)
        if "selected" in a or len(self._select.options) == 1:
            self._select.value = value

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            # As in a browser: one newline right after <textarea> is not content.
            if self._textarea is not None and self._textarea.value.startswith("\n"):
                self._textarea.value = self._textarea.value[1:]
            self._textarea = None


def forms_in(html: str, page_url: str) -> list[HtmlForm]:
    parser = _FormParser(page_url)
    parser.feed(html)
    parser.close()
    return parser.forms
