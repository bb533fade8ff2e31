"""The Trainyard terminal UI (Textual). Talks to the server over HTTP/SSE only."""
