"""SES event records: built, stored, later published (see README.md)."""
