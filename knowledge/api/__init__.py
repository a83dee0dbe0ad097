"""The knowledge REST API: serializers, views and routes for /api/v1/articles/."""
