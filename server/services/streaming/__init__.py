"""Streaming: frames and the ring channel (events), the per-run hub (fanout), replay-then-live
streams (streams) and the SSE response written straight to uvicorn (response)."""
