"""Toolsets from the seed talk, used by the examples, the tests and the benchmarks."""
