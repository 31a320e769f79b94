from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularSwaggerSplitView

from bondplatform import errors, faults, health, metrics, schema_view
from people import views as people_views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/register/", people_views.register, name="register"),
    path("accounts/login/", people_views.SignInView.as_view(), name="login"),
    path("accounts/verify-email/<str:token>/", people_views.verify_email, name="verify-email"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("bondplatform.api_urls")),
    path("api/schema/", schema_view.SchemaView.as_view(), name="schema"),
    # Swagger UI from the service's own static files (drf-spectacular-sidecar), its start-up
    # script a file of its own (?script): the Content-Security-Policy runs nothing inline.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    # Keep last among the /api/ paths: anything else under /api/ is a JSON 404.
    re_path(r"^api/", errors.api_not_found),
    path("", include("investments.urls")),
]

handler400 = errors.handler400
handler403 = errors.handler403
handler404 = errors.handler404
handler500 = faults.handler500
