"""Date formats of the interface by language (FORMAT_MODULE_PATH): tables show short dates,
ISO 8601 in English (2026-12-02, the trial's convention), 02/12/2026 in French (Django's
French formats, decimal comma). What a module leaves out is Django's own locale format."""
