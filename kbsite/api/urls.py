from rest_framework.routers import DefaultRouter

from kbsite.api.catalog import ServiceViewSet, TagViewSet, TeamViewSet

router = DefaultRouter()
router.register("teams", TeamViewSet, basename="team")
router.register("services", ServiceViewSet, basename="service")
router.register("tags", TagViewSet, basename="tag")

urlpatterns = router.urls
