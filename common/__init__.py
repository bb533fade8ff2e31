"""Shared by server, TUI and tests: the wire contract and the API client. Imports neither side."""
