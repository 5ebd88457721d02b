"""Dashboards with charts, server-rendered SVG by matplotlib (issue 15)."""
