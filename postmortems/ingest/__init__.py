"""Alert ingestion: alerting tools open, mitigate and resolve incidents through
`POST /api/v1/ingest/<source>/`, each with its integration's secret.

`sources/` turns each tool's payload into source-neutral notices, `receive` checks a delivery
(secret, size, signature, shape, replay) and logs it, `apply` turns notices into incidents
through the incident services, `services`/`selectors` manage the integrations, and `views`
are the admin pages under /postmortems/integrations/.
"""
