"""Trainyard benchmarks: ``python -m bench`` (``make bench``) prints one markdown table.

Every figure is measured beside a reference run in the same invocation on the same
machine, so the ratios stay meaningful on any box:

* ``GET /projects`` throughput and p99 latency against a bare ASGI app served by the same
  uvicorn returning the same bytes (:mod:`bench.http_load`);
* log ingestion end to end against a plain read/split/SQLite-insert loop over the same
  file (:mod:`bench.ingest`);
* the server's idle CPU and RSS with 0 and 20 live runs, before and after a million
  stored log lines (:mod:`bench.idle`);
* SSE fan-out of one run's log to 1, 100 and 1,000 subscribers against a bare ASGI app
  writing the same pre-encoded batches (:mod:`bench.sse_fanout`);
* the TUI's run view (key response, event-loop lag) beside a run printing 5,000 lines/s,
  against the same view of a quiet run (:mod:`bench.tui_responsiveness`).

Everything runs from a temp folder under /tmp with the ``local`` executor (no Docker), and
every process started is stopped again, errors included.
"""
