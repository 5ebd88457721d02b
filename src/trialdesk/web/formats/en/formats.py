"""English: short dates as ISO 8601, times on 24 hours (a European trial, read in Europe/Paris)."""

SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
