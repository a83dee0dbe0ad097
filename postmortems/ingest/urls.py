"""The integration pages, included by postmortems.urls under /postmortems/integrations/."""

from django.urls import path

from postmortems.ingest import views

urlpatterns = [
    path("", views.integration_list, name="integration_list"),
    path("<int:pk>/", views.integration_detail, name="integration_detail"),
    path("<int:pk>/rotate/", views.integration_rotate, name="integration_rotate"),
    path("<int:pk>/enabled/", views.integration_enable, name="integration_enable"),
    path(
        "<int:pk>/signing-secret/",
        views.integration_signing_secret,
        name="integration_signing_secret",
    ),
    path("<int:pk>/delete/", views.integration_delete, name="integration_delete"),
]
