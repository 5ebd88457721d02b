"""The monitor's work at a site: the monitoring visit report, saved, signed and exported (issue 15)."""
