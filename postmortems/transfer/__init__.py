"""Moving postmortems in: markdown files with front matter, read into incidents, postmortems,
timeline entries, findings and action items through the services. The knowledge side of the
transfer lives in knowledge.transfer; this package dispatches article files there."""
