"""Helpers for testing agents built on the engine without a model server."""
