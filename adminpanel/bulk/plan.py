"""The plan: what every CSV row would do, decided from reads alone.

For each row, in this order: the cell problems of the CSV (csvfile.py), the
panel's checks on names and values (lib/validators.py, lib/saslprep.py), what
this server's backend would misread (users/backend_rules.py), names given
more than once, rules about the operator's own account; then the user's
record is read (``users.records.read``: the user's own roles even where the
backend merges the caller's in) by a worker, with bounded concurrency
(``reading.py``), and the row is classified: create, update (what changes),
unchanged, delete, or refused with the reason. Nothing but GetUser (and,
where the backend needs it, the Login that reads a user's own roles) is sent.

pymap cannot keep a stored password (SetUser hashes whatever it is sent, and
stores none when none is sent: PYMAP.md), so a row that changes an existing
user must carry the password to store; without one it is refused, never
applied without a password. A new user without a password gets a generated
one, delivered once in the result file (password_file.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

from adminpanel.accounts.session import Operator
from adminpanel.lib.saslprep import validate_login_name, validate_saslprep
from adminpanel.lib.validators import validate_name, validate_param_value
from adminpanel.pymap.backends import Capabilities
from adminpanel.pymap.errors import PymapError, RefusalKey, Refused
from adminpanel.pymap.results import ADMIN_ROLE, UserRecord
from adminpanel.pymap.servers import PymapServer
from adminpanel.users import backend_rules, records
from adminpanel.users.editable import not_editable
from adminpanel.users.merge import UserValues, changed_fields
from adminpanel.users.password_forms import MAX_PASSWORD_LENGTH, min_password_length
from adminpanel.users.password_generator import generate_password

from .csvfile import CsvRow
from .models import Kind


@dataclass
class PlannedRow:
    line: int
    name: str
    requested: str
    kind: Kind
    reason: str = ""
    changes: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    password: str | None = field(default=None, repr=False)
    password_generated: bool = False
    base: UserRecord | None = None


def _refused(row: CsvRow, reason: str) -> PlannedRow:
    return PlannedRow(row.line, row.name[:300], row.action, Kind.REFUSED, reason=reason)


def _first_message(check: object, *args: object, **kwargs: object) -> str | None:
    try:
        check(*args, **kwargs)  # type: ignore[operator]
    except ValidationError as exc:
        return str(exc.messages[0])
    return None


def _local_problems(row: CsvRow, caps: Capabilities) -> list[str]:
    """What the panel refuses without asking the server, in words."""
    where = f"line {row.line}"
    problems = list(row.problems)
    if message := _first_message(validate_login_name, row.name):
        problems.append(f"{where}, column name: {message}")
    problems += [f"{where}, column name: {p}" for p in backend_rules.name_problems(caps, row.name)]
    for role in row.roles:
        if message := _first_message(validate_name, role, what="A role"):
            problems.append(f"{where}, column roles: {role[:40]!r}: {message}")
    problems += [
        f"{where}, column roles: {p}" for p in backend_rules.role_problems(caps, row.roles)
    ]
    for key, value in row.params.items():
        for message in (
            _first_message(validate_name, key, what="A parameter name"),
            _first_message(validate_param_value, value),
        ):
            if message:
                problems.append(f"{where}, column params: {key[:40]!r}: {message}")
    for key, message in backend_rules.param_problems(caps, row.params).items():
        problems.append(f"{where}, column params: {key[:40]!r}: {message}")
    if row.password and row.action != "delete":
        if len(row.password) < min_password_length():
            problems.append(
                f"{where}, column password: shorter than {min_password_length()} characters"
            )
        elif len(row.password) > MAX_PASSWORD_LENGTH:
            problems.append(
                f"{where}, column password: longer than {MAX_PASSWORD_LENGTH} characters"
            )
        elif message := _first_message(validate_saslprep, row.password, what="The password"):
            problems.append(f"{where}, column password: {message}")
    return problems


def _duplicates(rows: Sequence[CsvRow]) -> dict[str, list[int]]:
    lines: dict[str, list[int]] = {}
    for row in rows:
        lines.setdefault(row.name, []).append(row.line)
    return {name: found for name, found in lines.items() if len(found) > 1}


@dataclass(frozen=True)
class Context:
    server: PymapServer
    operator: Operator
    caps: Capabilities


def _own_account_problem(row: CsvRow, ctx: Context, base: UserRecord | None) -> str | None:
    if ctx.operator.name is None or row.name != ctx.operator.name or base is None:
        return None
    if row.action == "delete":
        return "this is your own account: delete it on its own page, not in a bulk import"
    if ctx.caps.set_user_ends_tokens:
        return (
            f"this is your own account, and on this server ({ctx.caps.label}) any change to "
            "a user ends its sessions: the import would lose its own rights mid-way. Change "
            "your own account on its page"
        )
    if ADMIN_ROLE in base.roles and ADMIN_ROLE not in row.roles and row.has_roles:
        return "this would remove your own admin role"
    return None


def _wanted(row: CsvRow, base: UserRecord | None, caps: Capabilities) -> UserValues:
    """The values to store: columns the file lacks keep what is stored."""
    roles = row.roles if row.has_roles or base is None else list(base.roles)
    params = dict(row.params) if row.has_params or base is None else dict(base.params)
    if base is not None and not caps.stores_all_params:
        # maildir reports the user's directory as a param it always keeps:
        # a file without it keeps the stored one rather than moving the user.
        for key in caps.kept_params or ():
            if key in base.params and key not in params:
                params[key] = base.params[key]
    return UserValues.of(roles, params)


def _changes(before: UserValues, after: UserValues) -> list[str]:
    words = []
    for item in changed_fields(before, after):
        if item == "roles":
            added = sorted(set(after.roles) - set(before.roles))
            removed = sorted(set(before.roles) - set(after.roles))
            parts = [f"+{r}" for r in added] + [f"-{r}" for r in removed]
            words.append("roles: " + " ".join(parts))
        else:
            key = item.removeprefix("params.")
            if key not in before.params:
                words.append(f"param {key}: added")
            elif key not in after.params:
                words.append(f"param {key}: removed")
            else:
                words.append(f"param {key}: changed")
    return words


@sensitive_variables("row")
def classify(row: CsvRow, base: UserRecord | None, ctx: Context) -> PlannedRow:
    """What the row does, given the user as stored (None: no such user)."""
    if problem := _own_account_problem(row, ctx, base):
        return _refused(row, problem)
    action = row.action
    if action == "delete":
        if base is None:
            return _refused(row, "there is no user of this name to delete")
        return PlannedRow(row.line, row.name, action, Kind.DELETE, base=base)
    if base is None:
        if action == "update":
            return _refused(row, "there is no user of this name to update")
        wanted = _wanted(row, None, ctx.caps)
        if warning := backend_rules.mailbox_path_warning(ctx.caps, row.name, wanted.params, None):
            return _refused(row, f"{warning} Set it on the user's page, which asks to confirm")
        generated = not row.password
        # The user pages' generator: a password that lands in a spreadsheet
        # (passwords.csv) must not start a formula nor hold look-alikes.
        password = row.password or generate_password()
        changes = _changes(UserValues(), wanted)
        changes.append("password: generated" if generated else "password: from the file")
        return PlannedRow(
            row.line,
            row.name,
            action,
            Kind.CREATE,
            changes=changes,
            roles=list(wanted.roles),
            params=dict(wanted.params),
            password=password,
            password_generated=generated,
        )
    if action == "create":
        return _refused(row, "a user of this name exists already (the action is create)")
    if problems := not_editable(base.roles, base.params):
        return _refused(
            row, "the stored user holds values this panel cannot carry back: " + "; ".join(problems)
        )
    before = UserValues.of(base.roles, base.params)
    wanted = _wanted(row, base, ctx.caps)
    if warning := backend_rules.mailbox_path_warning(
        ctx.caps, row.name, wanted.params, base.params
    ):
        return _refused(row, f"{warning} Change it on the user's page, which asks to confirm")
    changes = _changes(before, wanted)
    if not changes and not row.password:
        return PlannedRow(
            row.line,
            row.name,
            action,
            Kind.UNCHANGED,
            base=base,
            roles=list(wanted.roles),
            params=dict(wanted.params),
        )
    if not row.password:
        return _refused(
            row,
            "the user exists and would change ("
            + "; ".join(changes)
            + "), which needs the password in the file: pymap cannot keep the stored one, "
            "so writing without it would leave the user without a password",
        )
    changes.append("password: from the file")
    return PlannedRow(
        row.line,
        row.name,
        action,
        Kind.UPDATE,
        changes=changes,
        roles=list(wanted.roles),
        params=dict(wanted.params),
        password=row.password,
        base=base,
    )


def read_and_classify(row: CsvRow, ctx: Context) -> PlannedRow:
    """Read the row's user and classify it (:func:`classify_read`)."""
    try:
        base = records.read(ctx.server, ctx.operator, row.name)
    except Refused as exc:
        return classify_read(row, exc, ctx)
    return classify(row, base, ctx)


def classify_read(row: CsvRow, read: UserRecord | PymapError, ctx: Context) -> PlannedRow:
    """Classify the row from its user's read: the record, or the error it
    raised. A refusal of this one read refuses the row; what would fail every
    read (the token no longer accepted, the server unreachable or silent) is
    raised, so the run stops and can resume."""
    if isinstance(read, UserRecord):
        return classify(row, read, ctx)
    if not isinstance(read, Refused) or read.is_(RefusalKey.INVALID_AUTH):
        raise read
    if not read.is_(RefusalKey.USER_NOT_FOUND):
        return _refused(row, f"the user could not be read: {read.message}")
    return classify(row, None, ctx)


def screen(rows: Sequence[CsvRow], caps: Capabilities) -> list[PlannedRow | CsvRow]:
    """In file order: each row refused for what the panel sees without asking
    the server (a PlannedRow), or the row, left for :func:`read_and_classify`."""
    duplicates = _duplicates(rows)
    screened: list[PlannedRow | CsvRow] = []
    for row in rows:
        problems = _local_problems(row, caps)
        if row.name in duplicates and row.name:
            others = ", ".join(str(line) for line in duplicates[row.name] if line != row.line)
            problems.append(
                f"line {row.line}: the name is also on line(s) {others}; give each user once"
            )
        screened.append(_refused(row, "; ".join(problems)) if problems else row)
    return screened


def totals(kinds: Mapping[str, int]) -> dict[str, int]:
    return {kind.value: kinds.get(kind.value, 0) for kind in Kind}
