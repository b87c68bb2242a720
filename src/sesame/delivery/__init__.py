"""Outbound delivery: the queue worker and the SMTP relay client (see README.md)."""
