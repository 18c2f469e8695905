"""Writes of second factors, each with its audit record (enrolment, removal,
new recovery codes, a recovery code used, a code refused)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from adminpanel.accounts.acting import Acting
from adminpanel.accounts.identity import Identity
from adminpanel.accounts.session import Operator
from adminpanel.audit.record import THROTTLED, Action, record, record_attempt
from adminpanel.lib.refusal import Refusal
from adminpanel.lib.sealing import Purpose, UnsealError, seal, unseal

from . import passkeys, pending, recovery, throttle, totp
from .models import Factor, PendingSignIn, owned_by
from .policy import factors_of, owner_of, required_for

log = logging.getLogger(__name__)

#: Audit outcomes.
WRONG_CODE = "WrongCode"
REFUSED_PASSKEY = "PasskeyRefused"


def _audit_target(identity: Identity) -> str:
    return identity.label


def _first_codes(operator: Operator) -> list[str] | None:
    """Ten recovery codes with the first factor (None if there are some)."""
    owner = owner_of(operator)
    if recovery.unused(operator.server, owner):
        return None
    return recovery.new_set(operator.server, owner)


@sensitive_variables("secret")
def add_totp(acting: Acting, name: str, secret: str, step: int) -> list[str] | None:
    """Keep an authenticator app whose code for ``step`` was just given (so
    that code cannot sign in again); the new recovery codes if it is the
    first factor."""
    operator = acting.operator
    with transaction.atomic():
        Factor.objects.create(
            **owned_by(operator.server, owner_of(operator)),
            kind=Factor.Kind.TOTP,
            name=name,
            sealed_secret=seal(secret, Purpose.TOTP_SECRET),
            last_step=step,
        )
        codes = _first_codes(operator)
    record(acting, Action.FACTOR_ADD, target=name, detail="authenticator app")
    return codes


def add_passkey(acting: Acting, name: str, credential: passkeys.NewCredential) -> list[str] | None:
    operator = acting.operator
    with transaction.atomic():
        Factor.objects.create(
            **owned_by(operator.server, owner_of(operator)),
            kind=Factor.Kind.PASSKEY,
            name=name,
            credential_id=credential.credential_id,
            public_key=credential.public_key,
            sign_count=credential.sign_count,
        )
        codes = _first_codes(operator)
    record(acting, Action.FACTOR_ADD, target=name, detail="passkey")
    return codes


class LastFactorRequired(Refusal):
    """The policy requires a factor and this is the operator's last one."""

    status = 409


def remove_own(acting: Acting, factor: Factor) -> None:
    """Remove one of the operator's own factors (with the last one, the
    recovery codes go too)."""
    operator = acting.operator
    owner = owner_of(operator)
    with transaction.atomic():
        left = [f for f in factors_of(operator.server, owner) if f.pk != factor.pk]
        if not left and required_for(operator):
            raise LastFactorRequired
        factor.delete()
        if not left:
            recovery.drop_all(operator.server, owner)
    record(
        acting,
        Action.FACTOR_REMOVE,
        target=factor.name,
        detail=factor.get_kind_display(),
    )


def remove_all_of(acting: Acting, identity: Identity, reason: str) -> int:
    """An admin removes every factor (and recovery code) of another
    identity, for example after a lost phone; the reason is audited."""
    server = acting.server.name
    with transaction.atomic():
        count, _ = Factor.objects.filter(**owned_by(server, identity)).delete()
        recovery.drop_all(server, identity)
    record(
        acting,
        Action.FACTOR_REMOVE,
        target=_audit_target(identity),
        detail=f"all {count} factor(s) removed by an admin: {reason}",
    )
    return count


def new_recovery_codes(acting: Acting) -> list[str]:
    operator = acting.operator
    codes = recovery.new_set(operator.server, owner_of(operator))
    record(acting, Action.RECOVERY_CODES_NEW, detail=f"{len(codes)} codes")
    return codes


# --- the second step of a sign-in ---------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    how: str  #: "authenticator app", "recovery code" or "passkey", for the audit log


class FactorRefused(Refusal):
    """The code or passkey was not accepted (and counted by twofactor/throttle.py);
    ``ended``: that was the pending sign-in's last try, it is gone."""

    def __init__(self, outcome: str, *, ended: bool = False) -> None:
        super().__init__(outcome)
        self.ended = ended


#: Audit outcomes of answers refused unchecked by the second-factor limits.
TOO_MANY_TRIES = "TooManyTries"
CODES_THROTTLED = THROTTLED


def _attempt(request: HttpRequest, waiting: PendingSignIn, *, code: bool) -> throttle.Attempt:
    """Count the answer against the second-factor limits, never the sign-in
    ones: raises CodesThrottled, or FactorRefused (ended) once the pending sign-in
    has had its tries."""
    try:
        return throttle.begin(waiting, code=code)
    except throttle.TooManyTries:
        _audit_refusal(request, waiting, TOO_MANY_TRIES)
        pending.discard(request, waiting.server)
        raise FactorRefused(TOO_MANY_TRIES, ended=True) from None
    except throttle.CodesThrottled:
        _audit_refusal(request, waiting, CODES_THROTTLED)
        raise


def _audit_refusal(request: HttpRequest, waiting: PendingSignIn, outcome: str) -> None:
    record_attempt(
        request,
        Action.SECOND_FACTOR_FAIL,
        target=waiting.act_as,
        outcome=outcome,
        identity=waiting.owner,
    )


def _refused(request: HttpRequest, waiting: PendingSignIn, outcome: str) -> FactorRefused:
    """Audit a wrong answer; the pending sign-in ends with its last try."""
    _audit_refusal(request, waiting, outcome)
    if throttle.spent(waiting):
        pending.discard(request, waiting.server)
        return FactorRefused(outcome, ended=True)
    return FactorRefused(outcome)


@sensitive_variables("code", "secret")
def check_code(request: HttpRequest, waiting: PendingSignIn, code: str) -> Accepted:
    """Accept an authenticator app's code (each time step once) or an unused
    recovery code. Raises CodesThrottled or :class:`FactorRefused`."""
    attempt = _attempt(request, waiting, code=True)
    owner = waiting.owner
    for factor in Factor.objects.filter(**owned_by(waiting.server, owner), kind=Factor.Kind.TOTP):
        try:
            secret = unseal(bytes(factor.sealed_secret), Purpose.TOTP_SECRET)
        except UnsealError:
            # Sealed with a SECRET_KEY no longer in SECRET_KEY_FALLBACKS: this
            # app can match no code; a recovery code or an admin still helps.
            log.warning("authenticator app %d: its secret cannot be opened", factor.pk)
            continue
        step = totp.matching_step(secret, code, after=factor.last_step)
        # Two requests with one code: only the first moves last_step on. The
        # secret is sealed again with the current key (after a rotation, an
        # app in use stops needing the old key in SECRET_KEY_FALLBACKS).
        if step is not None and Factor.objects.filter(pk=factor.pk, last_step__lt=step).update(
            last_step=step,
            last_used_at=timezone.now(),
            sealed_secret=seal(secret, Purpose.TOTP_SECRET),
        ):
            attempt.release()
            return Accepted("authenticator app")
    if recovery.use(waiting.server, owner, code):
        attempt.release()
        left = recovery.unused(waiting.server, owner)
        record_attempt(
            request,
            Action.RECOVERY_CODE_USE,
            target=waiting.act_as,
            detail=f"{left} unused left",
            identity=owner,
        )
        return Accepted("recovery code")
    raise _refused(request, waiting, WRONG_CODE)


def check_passkey(request: HttpRequest, waiting: PendingSignIn, response: str) -> Accepted:
    """Accept a passkey's answer to the pending sign-in's challenge."""
    attempt = _attempt(request, waiting, code=False)
    challenge = bytes(waiting.challenge)
    factors = Factor.objects.filter(**owned_by(waiting.server, waiting.owner), kind="passkey")
    used = passkeys.verify_assertion(request, list(factors), challenge, response)
    if used is None:
        raise _refused(request, waiting, REFUSED_PASSKEY)
    factor, sign_count = used
    Factor.objects.filter(pk=factor.pk).update(sign_count=sign_count, last_used_at=timezone.now())
    PendingSignIn.objects.filter(pk=waiting.pk).update(challenge=b"")
    attempt.release()
    return Accepted("passkey")
