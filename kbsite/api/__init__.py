"""Shared pieces of the REST API: authentication, pagination, the one error shape."""
