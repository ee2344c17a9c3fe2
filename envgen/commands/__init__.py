"""One thin module per CLI command; each exposes ``command`` and calls the core API."""
