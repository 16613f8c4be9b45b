"""Where digests come from: HTTP downloads and, later, scheduled sources."""
