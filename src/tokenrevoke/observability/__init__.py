"""Cross-cutting observability: Prometheus metrics and structured logs with a request id.

A leaf like `crypto.py`: every layer may import it; it imports nothing of ours.
"""
