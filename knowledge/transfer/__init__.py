"""Moving knowledge in and out: the knowledge base as a zip of markdown files, and articles read
back from such files. The postmortems app reuses the document reading, the file sources and the
report for its own importer (and dispatches article files here)."""
