"""Trainyard benchmarks: ``python -m bench`` (``make bench``) prints one markdown table.

Every figure is measured beside a reference run in the same invocation on the same
machine, so the ratios stay meaningful on any box:

* ``GET /projects`` throughput and p99 latency against a bare ASGI app served by the same
  uvicorn returning the same bytes (:mod:`bench.http_load`);
* log ingestion end to end against a plain read/split/SQLite-insert loop over the same
  file (:mod:`bench.ingest`);
* the server's idle CPU and RSS with 0 and 20 live runs, before and after a million
  stored log lines (:mod:`bench.idle`).

Everything runs from a temp folder under /tmp with the ``local`` executor (no Docker), and
every process started is stopped again, errors included.
"""
