"""Telemetry: metrics and progress parsed from run output, GPU sampling, attribution."""
