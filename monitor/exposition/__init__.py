"""What the daemon shows: Prometheus metrics, the HTTP listener and the status page."""
