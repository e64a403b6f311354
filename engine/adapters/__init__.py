"""Adapters that put the engine where agents already live (smolagents, langgraph-codeact).

Each needs its library, from the extra of the same name, installed from a checkout:
``pip install -e '.[smolagents]'`` or ``pip install -e '.[langgraph]'``.
"""
