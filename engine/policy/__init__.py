"""The allow-list policy: its model, its rules, and its plain-language rendering."""

from engine.policy.check import check_policy, check_source_size
from engine.policy.model import (
    Policy,
    bundled_policy_dir,
    bundled_policy_names,
    load_policy,
)
from engine.policy.prompt import prompt_rules, render_prompt_rules
from engine.policy.rules import PolicyContext

__all__ = [
    "Policy",
    "PolicyContext",
    "bundled_policy_dir",
    "bundled_policy_names",
    "check_policy",
    "check_source_size",
    "load_policy",
    "prompt_rules",
    "render_prompt_rules",
]
