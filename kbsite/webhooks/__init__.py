"""Outgoing webhooks: subscriptions, signed deliveries by Celery, and the SSRF guard."""
