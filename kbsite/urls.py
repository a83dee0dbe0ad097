"""The project's URLs: pages of each app, the API under /api/v1/, health and admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from kbsite import account_views, views

handler400 = "kbsite.views.bad_request"
handler403 = "kbsite.views.permission_denied"
handler404 = "kbsite.views.page_not_found"

api_v1 = [
    path("", include("kbsite.api.urls")),
    path("", include("knowledge.api.urls")),
    path("", include("metrics.api.urls")),
    path("", include("postmortems.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", account_views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/", include("kbsite.account_urls")),
    path("knowledge/", include("knowledge.urls")),
    path("postmortems/", include("postmortems.urls")),
    path("dashboard/", include("metrics.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # DRF views skip LoginRequiredMiddleware: the docs page sends people to sign in, not a 403.
    path(
        "api/docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path("admin/", admin.site.urls),
]
