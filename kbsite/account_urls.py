"""A person's own account pages, under /accounts/ beside sign-in and password change."""

from django.urls import path

from kbsite import account_views as views

app_name = "account"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("webhooks/", views.webhooks, name="webhooks"),
    path("webhooks/<int:pk>/", views.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/pause/", views.webhook_pause, name="webhook_pause"),
    path("webhooks/<int:pk>/resume/", views.webhook_resume, name="webhook_resume"),
    path("webhooks/<int:pk>/delete/", views.webhook_delete, name="webhook_delete"),
]
