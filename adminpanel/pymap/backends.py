"""What each pymap storage backend does with the same admin RPCs.

The admin API is the same on dict, maildir and redis; what the server does
with it is not (measured against pymap 0.36.7: docs/backends.md, and
PYMAP.md's "The backends differ"). Everything the panel does differently per
backend is decided here, from a :class:`Capabilities`, never from
``if backend == ...`` elsewhere.

Nothing in the API names the backend, so the panel often knows only which
backends are still possible (:data:`ALL` before anything was learnt). The
capabilities of several candidates are the cautious combination of theirs:
a protection is assumed only if every candidate gives it, a danger if any
candidate has it. This module imports nothing heavy (no grpclib).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Backend(StrEnum):
    DICT = "dict"
    MAILDIR = "maildir"
    REDIS = "redis"


ALL: frozenset[Backend] = frozenset(Backend)

#: The setting's values: a backend, or "auto" (learn it from the server).
AUTO = "auto"
SETTING_CHOICES = (AUTO, *(backend.value for backend in Backend))


@dataclass(frozen=True)
class Capabilities:
    """How one backend (or the cautious combination of several) behaves."""

    #: Which backends these describe: one when known, several when not yet.
    candidates: frozenset[Backend]
    #: GetUser with a token that carries roles (pymap's admin token) adds the
    #: caller's roles to the answer: every user reads as ``admin`` (maildir).
    merges_caller_roles: bool
    #: A user with the admin role signed in with a password still cannot act
    #: on other users; only pymap's admin token can (maildir).
    only_admin_token_acts_on_others: bool
    #: A stale ``previous_entity_tag`` gives CannotReplaceUser (maildir's tag
    #: is always 0 and never checked: the last writer wins).
    checks_entity_tags: bool
    #: SetUser with overwrite off refuses an existing name (maildir replaces it).
    refuses_existing_on_create: bool
    #: Params the server keeps; None: all of them (maildir: mailbox_path only).
    kept_params: frozenset[str] | None
    #: Param names the server reads as its own fields, with what happens.
    reserved_params: Mapping[str, str] = field(default_factory=dict)
    #: Most roles a user can have; None: no limit (redis: one).
    max_roles: int | None = None
    #: Characters the server's own storage syntax misreads in user and role
    #: names (maildir: "," separates a group's members, "\\" escapes).
    forbidden_name_chars: str = ""
    #: Characters the storage misreads in param values (maildir's passwd file
    #: is one line per user).
    forbidden_value_chars: str = ""
    #: A user without the admin role may change their own password although
    #: their record has roles, by sending the same roles back (maildir).
    resends_own_roles: bool = False
    #: Any SetUser gives the user a new token key: every login token of that
    #: user dies, panel sessions and imports included (redis).
    set_user_ends_tokens: bool = False
    #: Append for a user that does not exist is refused (redis delivers it into
    #: a mailbox nobody owns yet).
    append_refuses_unknown_user: bool = True
    #: Appends sent in order in parallel get UIDs in that order (not redis).
    keeps_order_of_parallel_appends: bool = True
    #: Keywords given to Append are stored (maildir keeps only keywords listed
    #: in the mailbox's dovecot-keywords file, which the panel cannot read).
    keeps_keywords: bool = True
    #: A message's bytes are stored as sent; maildir rewrites every CRLF and
    #: bare CR as LF (Python's mailbox module writes the file).
    keeps_line_endings: bool = True
    #: Each Login that issues a token is kept by the server for good (maildir
    #: appends a line to pymap-tokens), so the panel reuses tokens it minted.
    keeps_issued_tokens: bool = False
    #: ManageSieve keeps the scripts PUTSCRIPT sends (maildir answers OK and
    #: keeps nothing in 0.36.7; SETACTIVE then answers NONEXISTENT).
    keeps_sieve_scripts: bool = True

    @property
    def known(self) -> Backend | None:
        """The backend, once only one is possible."""
        return next(iter(self.candidates)) if len(self.candidates) == 1 else None

    @property
    def label(self) -> str:
        """``maildir``, or ``maildir or redis`` while not yet known."""
        return " or ".join(backend.value for backend in _ordered(self.candidates))

    @property
    def stores_all_params(self) -> bool:
        return self.kept_params is None

    def keeps_param(self, name: str) -> bool:
        return self.kept_params is None or name in self.kept_params


def _ordered(backends: Iterable[Backend]) -> list[Backend]:
    return sorted(backends, key=list(Backend).index)


_DICT = Capabilities(
    candidates=frozenset({Backend.DICT}),
    merges_caller_roles=False,
    only_admin_token_acts_on_others=False,
    checks_entity_tags=True,
    refuses_existing_on_create=True,
    kept_params=None,
)

_MAILDIR = Capabilities(
    candidates=frozenset({Backend.MAILDIR}),
    merges_caller_roles=True,
    only_admin_token_acts_on_others=True,
    checks_entity_tags=False,
    refuses_existing_on_create=False,
    kept_params=frozenset({"mailbox_path"}),
    forbidden_name_chars=",\\",
    forbidden_value_chars="\r\n\\",
    resends_own_roles=True,
    keeps_keywords=False,
    keeps_line_endings=False,
    keeps_issued_tokens=True,
    keeps_sieve_scripts=False,
)

_REDIS = Capabilities(
    candidates=frozenset({Backend.REDIS}),
    merges_caller_roles=False,
    only_admin_token_acts_on_others=False,
    checks_entity_tags=True,
    refuses_existing_on_create=True,
    kept_params=None,
    reserved_params={
        "password": "the redis backend would store it in clear text as the user's "
        "password, and the user could no longer sign in",
        "role": "the redis backend would read it as the user's role (a param "
        "'role' = 'admin' makes the user an admin)",
        "key": "the redis backend keeps the user's token key under this name and "
        "would overwrite it",
        "etag": "the redis backend keeps the user's entity tag under this name and "
        "would overwrite it",
    },
    max_roles=1,
    set_user_ends_tokens=True,
    append_refuses_unknown_user=False,
    keeps_order_of_parallel_appends=False,
)

_BY_BACKEND: dict[Backend, Capabilities] = {
    Backend.DICT: _DICT,
    Backend.MAILDIR: _MAILDIR,
    Backend.REDIS: _REDIS,
}


def capabilities(candidates: Iterable[Backend]) -> Capabilities:
    """The capabilities of one backend, or the cautious combination of several
    (all backends when ``candidates`` is empty: nothing is known)."""
    chosen = frozenset(candidates) or ALL
    each = [_BY_BACKEND[backend] for backend in _ordered(chosen)]
    if len(each) == 1:
        return each[0]
    kept = [caps.kept_params for caps in each if caps.kept_params is not None]
    limits = [caps.max_roles for caps in each if caps.max_roles is not None]
    reserved: dict[str, str] = {}
    for caps in each:
        reserved.update(caps.reserved_params)
    return Capabilities(
        candidates=chosen,
        merges_caller_roles=any(caps.merges_caller_roles for caps in each),
        only_admin_token_acts_on_others=any(c.only_admin_token_acts_on_others for c in each),
        checks_entity_tags=all(caps.checks_entity_tags for caps in each),
        refuses_existing_on_create=all(caps.refuses_existing_on_create for caps in each),
        kept_params=frozenset.intersection(*kept) if kept else None,
        reserved_params=reserved,
        max_roles=min(limits) if limits else None,
        forbidden_name_chars="".join(sorted({c for x in each for c in x.forbidden_name_chars})),
        forbidden_value_chars="".join(sorted({c for x in each for c in x.forbidden_value_chars})),
        resends_own_roles=all(caps.resends_own_roles for caps in each),
        set_user_ends_tokens=any(caps.set_user_ends_tokens for caps in each),
        append_refuses_unknown_user=all(caps.append_refuses_unknown_user for caps in each),
        keeps_order_of_parallel_appends=all(c.keeps_order_of_parallel_appends for c in each),
        keeps_keywords=all(caps.keeps_keywords for caps in each),
        keeps_line_endings=all(caps.keeps_line_endings for caps in each),
        keeps_issued_tokens=any(caps.keeps_issued_tokens for caps in each),
        keeps_sieve_scripts=all(caps.keeps_sieve_scripts for caps in each),
    )


def parse(names: str) -> frozenset[Backend]:
    """``"maildir,redis"`` -> the backends named; unknown names are ignored."""
    known = {backend.value: backend for backend in Backend}
    return frozenset(known[name] for name in names.split(",") if name in known)


def serialize(candidates: Iterable[Backend]) -> str:
    return ",".join(backend.value for backend in _ordered(candidates))


# --- what the server's answers reveal ------------------------------------------
#
# Each function returns the backends an observation leaves possible. They are
# measured signatures of pymap 0.36.7 (docs/backends.md says how each was seen).


def from_record(entity_tag: int, params: Mapping[str, str]) -> frozenset[Backend]:
    """A GetUser answer: maildir always reports its own ``mailbox_path`` param
    and entity tag 0; dict and redis give every record a random 64-bit tag."""
    if entity_tag == 0 and "mailbox_path" in params:
        return frozenset({Backend.MAILDIR})
    if entity_tag != 0:
        return frozenset({Backend.DICT, Backend.REDIS})
    return ALL


def from_login_token(identifier: str, authcid: str | None) -> frozenset[Backend]:
    """A login token pymap issued: redis names the token after its user
    (identifier == authcid); dict and maildir use a random hex identifier."""
    if authcid is None:
        return ALL
    if identifier == authcid:
        return frozenset({Backend.REDIS})
    return frozenset({Backend.DICT, Backend.MAILDIR})


def from_token_for_nobody(issued: bool) -> frozenset[Backend]:
    """Login for a user that does not exist, with the admin token: dict issues
    a token anyway (kept only in its memory); maildir and redis answer
    UserNotFound and write nothing."""
    if issued:
        return frozenset({Backend.DICT})
    return frozenset({Backend.MAILDIR, Backend.REDIS})


def narrow(known: frozenset[Backend], seen: frozenset[Backend]) -> frozenset[Backend]:
    """What is still possible after an observation. A contradiction means the
    server changed (restarted on another backend): the observation wins."""
    both = known & seen
    return both if both else seen
