"""Background jobs: long exports run by a database-backed queue, with progress (issue 12)."""
