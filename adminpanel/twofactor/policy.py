"""Whose factors these are, and who must have one (PANEL_REQUIRE_SECOND_FACTOR)."""

from __future__ import annotations

from django.conf import settings

from adminpanel.accounts.identity import ADMIN_TOKEN, Identity, IdentityKind
from adminpanel.accounts.session import Operator

from .models import Factor, owned_by

OFF, ADMINS, EVERYONE = "off", "admins", "everyone"


def owner_of(operator: Operator) -> Identity:
    """The identity whose factors a sign-in asks for: who authenticated (the
    user whose password or login token it was, or the admin token), never
    the user acted as."""
    if operator.admin_token or operator.name is None:
        return ADMIN_TOKEN
    return Identity(IdentityKind.USER, operator.signed_in_as or operator.name)


def required_for(operator: Operator) -> bool:
    """Whether the policy requires this operator to have a second factor."""
    policy: str = settings.PANEL_REQUIRE_SECOND_FACTOR
    if policy == EVERYONE:
        return True
    return policy == ADMINS and (operator.is_admin or operator.admin_token)


def factors_of(server: str, identity: Identity) -> list[Factor]:
    return list(Factor.objects.filter(**owned_by(server, identity)).order_by("created_at", "pk"))


def has_factor(server: str, identity: Identity) -> bool:
    return Factor.objects.filter(**owned_by(server, identity)).exists()


def needs_enrolment(operator: Operator) -> bool:
    """Required, and none enrolled yet: only the enrolment pages until then."""
    return required_for(operator) and not has_factor(operator.server, owner_of(operator))
