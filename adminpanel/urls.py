from django.urls import include, path

urlpatterns = [
    path("", include("adminpanel.dashboard.urls")),
    path("accounts/", include("adminpanel.accounts.urls")),
    path("users/", include("adminpanel.users.urls")),
    path("mail/", include("adminpanel.mail.urls")),
    path("audit/", include("adminpanel.audit.urls")),
    path("preferences/", include("adminpanel.preferences.urls")),
]

handler400 = "adminpanel.errors.bad_request"
handler403 = "adminpanel.errors.permission_denied"
handler404 = "adminpanel.errors.page_not_found"
handler500 = "adminpanel.errors.server_error"
