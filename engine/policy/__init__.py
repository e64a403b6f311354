"""The allow-list policy: its model (``model``), its rules (``rules``, ``check``), and its
plain-language rendering (``prompt``).

Nothing is re-exported here on purpose: the model alone must be importable without LibCST
(the sandbox imports it), so each user imports the module it needs.
"""
