"""Everyday snippets: how much ordinary Python the engine accepts and runs correctly."""
