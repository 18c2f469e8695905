"""Passkeys and security keys (WebAuthn) with py_webauthn.

The relying-party ID is ``PANEL_WEBAUTHN_RP_ID`` (a host name); the origin
expected is the one the request came to, which Django has already checked
against ``ALLOWED_HOSTS``. Pages hand the options to static/panel/passkey.js
in a data attribute; its answer comes back in a form field.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

# Every failure of py_webauthn (bad JSON, CBOR, signature, ...) derives from it.
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from adminpanel.accounts.identity import Identity

from .models import Factor

RP_NAME = "pymap admin"


@dataclass(frozen=True)
class NewCredential:
    credential_id: str  #: base64url
    public_key: bytes
    sign_count: int


def rp_id() -> str:
    value: str = settings.PANEL_WEBAUTHN_RP_ID
    return value


def _origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _user_handle(server: str, identity: Identity) -> bytes:
    """Stable for an identity, and no name in it (authenticators keep it)."""
    return hashlib.sha256(f"{server}\0{identity.kind}\0{identity.name}".encode()).digest()


def _descriptors(factors: list[Factor]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(f.credential_id)) for f in factors]


def registration_options(
    server: str, identity: Identity, existing: list[Factor]
) -> tuple[str, bytes]:
    """The options for navigator.credentials.create() as JSON, and the challenge."""
    options = generate_registration_options(
        rp_id=rp_id(),
        rp_name=RP_NAME,
        user_id=_user_handle(server, identity),
        user_name=f"{identity.label} on {server}",
        exclude_credentials=_descriptors(existing),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    return options_to_json(options), options.challenge


def verify_registration(request: HttpRequest, challenge: bytes, response: str) -> NewCredential:
    """Raises ValueError with a message to show when the answer does not verify."""
    try:
        verified = verify_registration_response(
            credential=response,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=_origin(request),
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise ValueError("The passkey's answer could not be verified. Please try again.") from exc
    return NewCredential(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
    )


def authentication_options(factors: list[Factor]) -> tuple[str, bytes]:
    """The options for navigator.credentials.get() as JSON, and the challenge."""
    options = generate_authentication_options(
        rp_id=rp_id(),
        allow_credentials=_descriptors(factors),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), options.challenge


def verify_assertion(
    request: HttpRequest, factors: list[Factor], challenge: bytes, response: str
) -> tuple[Factor, int] | None:
    """The factor that answered and its new signature count, or None."""
    if not challenge:
        return None
    try:
        credential_id = json.loads(response)["id"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    factor = next((f for f in factors if f.credential_id == credential_id), None)
    if factor is None:
        return None
    try:
        verified = verify_authentication_response(
            credential=response,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=_origin(request),
            credential_public_key=bytes(factor.public_key),
            credential_current_sign_count=factor.sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        return None
    return factor, verified.new_sign_count
