from rest_framework.routers import DefaultRouter

from kbsite.api.catalog import ServiceViewSet, TagViewSet, TeamViewSet
from kbsite.api.tokens import TokenViewSet
from kbsite.api.webhooks import WebhookViewSet

router = DefaultRouter()
router.register("teams", TeamViewSet, basename="team")
router.register("services", ServiceViewSet, basename="service")
router.register("tags", TagViewSet, basename="tag")
router.register("tokens", TokenViewSet, basename="token")
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = router.urls
