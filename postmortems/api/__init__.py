"""The postmortems REST API: incidents, postmortems, their findings, timeline and action items."""
