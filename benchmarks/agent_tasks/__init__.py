"""The seed talk's comparison as a runnable task suite (see benchmarks/README.md)."""
