from django.urls import include, path

urlpatterns = [
    path("", include("adminpanel.dashboard.urls")),
    path("accounts/", include("adminpanel.accounts.urls")),
    path("users/", include("adminpanel.users.urls")),
    path("mail/", include("adminpanel.mail.urls")),
    path("mailboxes/", include("adminpanel.mailboxes.urls")),
    path("filters/", include("adminpanel.filters.urls")),
    path("bulk/", include("adminpanel.bulk.urls")),
    path("audit/", include("adminpanel.audit.urls")),
    path("preferences/", include("adminpanel.preferences.urls")),
    path("tokens/", include("adminpanel.tokens.urls")),
    path("second-factor/", include("adminpanel.twofactor.urls")),
]

handler400 = "adminpanel.web.errors.bad_request"
handler403 = "adminpanel.web.errors.permission_denied"
handler404 = "adminpanel.web.errors.page_not_found"
handler500 = "adminpanel.web.errors.server_error"
