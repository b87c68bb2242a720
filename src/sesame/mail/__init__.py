"""Mail: pure functions that build, render and instrument messages (no I/O)."""
