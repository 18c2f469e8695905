from django.urls import path

from .views import deliver, imports

app_name = "mail"
urlpatterns = [
    path("deliver/", deliver.deliver, name="deliver"),
    path("deliver/preview/", deliver.deliver_preview, name="deliver-preview"),
    path("deliver/confirm/", deliver.deliver_confirm, name="deliver-confirm"),
    path("deliver/cancel/", deliver.deliver_cancel, name="deliver-cancel"),
    path("deliver/result/", deliver.deliver_result, name="deliver-result"),
    path("import/", imports.import_list, name="import"),
    path("import/<int:pk>/", imports.import_detail, name="import-detail"),
    path("import/<int:pk>/progress.json", imports.import_progress, name="import-progress"),
    path("import/<int:pk>/cancel/", imports.import_cancel, name="import-cancel"),
    path("import/<int:pk>/resume/", imports.import_resume, name="import-resume"),
    path("import/<int:pk>/retry-unknown/", imports.import_retry_unknown, name="import-retry"),
    path("import/<int:pk>/discard/", imports.import_discard, name="import-discard"),
    path("import/<int:pk>/report.csv", imports.import_report, name="import-report"),
]
