"""Telemetry adapters: the NVML reader (and its replay of recorded readings)."""
