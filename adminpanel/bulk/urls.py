from django.urls import path

from .views import plans, upload

app_name = "bulk"
urlpatterns = [
    path("", upload.index, name="index"),
    path("export.csv", upload.export, name="export"),
    path("<int:pk>/", plans.detail, name="detail"),
    path("<int:pk>/progress.json", plans.progress_json, name="progress"),
    path("<int:pk>/plan.csv", plans.plan_csv, name="plan-csv"),
    path("<int:pk>/apply/", plans.apply, name="apply"),
    path("<int:pk>/cancel/", plans.cancel, name="cancel"),
    path("<int:pk>/resume/", plans.resume, name="resume"),
    path("<int:pk>/passwords.csv", plans.passwords, name="passwords"),
]
