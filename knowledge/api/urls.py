"""Knowledge routes under /api/v1/ (included by kbsite.urls)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from knowledge.api.views import ArticleViewSet, SearchGapListView

router = SimpleRouter()
router.register("articles", ArticleViewSet, basename="article")

urlpatterns = [
    *router.urls,
    path("knowledge-gaps/", SearchGapListView.as_view(), name="knowledge-gap-list"),
]
