"""Sesame: a self-hosted, wire-compatible Amazon SES v2 service."""

__version__ = "0.1.0"
