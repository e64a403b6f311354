"""Adapters that put the engine where agents already live (smolagents, langgraph-codeact).

Each needs its library, from the extra of the same name: ``pip install
'codeact-engine[smolagents]'`` or ``'codeact-engine[langgraph]'``.
"""
