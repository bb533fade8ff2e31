"""Intake: following a run's files (follower), turning bytes into lines (lines), the
wrapper's clock (clock), and what lines say: parsers, run telemetry, progress."""
