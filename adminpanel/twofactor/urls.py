from django.urls import path

from .views import factors, others, verify

app_name = "twofactor"
urlpatterns = [
    path("verify/", verify.verify, name="verify"),
    path("verify/passkey/", verify.verify_passkey, name="verify-passkey"),
    path("verify/cancel/", verify.cancel, name="verify-cancel"),
    path("", factors.factors, name="factors"),
    path("add/app/", factors.add_totp, name="add-totp"),
    path("add/passkey/", factors.add_passkey, name="add-passkey"),
    path("<int:pk>/remove/", factors.remove, name="remove"),
    path("recovery-codes/", factors.new_codes, name="recovery-codes"),
    path("others/", others.others, name="others"),
    path("others/remove/", others.remove_others, name="remove-others"),
]
