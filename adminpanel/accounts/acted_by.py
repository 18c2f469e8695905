"""The columns that say who acted, from where, on which server: kept by the
audit log's events, import jobs and bulk plans alike (an abstract model)."""

from __future__ import annotations

from django.db import models

from .identity import Identity, IdentityKind


class ActedBy(models.Model):
    """Who acted: ``identity_*`` is the :class:`~.identity.Identity` rules
    compare; ``operator`` its label, for pages, filters and exports."""

    operator = models.CharField(max_length=600)
    identity_kind = models.CharField(
        max_length=16, choices=IdentityKind.choices, default=IdentityKind.NONE
    )
    identity_name = models.CharField(max_length=300, blank=True)
    identity_act_as = models.CharField(max_length=300, blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    server = models.CharField(max_length=200)

    class Meta:
        abstract = True

    @property
    def identity(self) -> Identity:
        return Identity(IdentityKind(self.identity_kind), self.identity_name, self.identity_act_as)
