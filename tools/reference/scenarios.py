"""All golden scenarios, in recording order (one JSON file each).

The definitions are data (see the ``scenarios_*.py`` modules, grouped by
area, and ``fixtures.py`` for the shared principals / capabilities / step
builders). Each entry is ``{name, description, setup, steps}``; the format is
documented in README.md.
"""

from __future__ import annotations

import scenarios_dsl
import scenarios_exec
import scenarios_expand
import scenarios_firewall
import scenarios_grant
import scenarios_invoke
import scenarios_search
import scenarios_tokens

SCENARIOS: list[dict] = [
    *scenarios_search.SCENARIOS,
    *scenarios_grant.SCENARIOS,
    *scenarios_dsl.SCENARIOS,
    *scenarios_invoke.SCENARIOS,
    *scenarios_expand.SCENARIOS,
    *scenarios_exec.SCENARIOS,
    *scenarios_tokens.SCENARIOS,
    *scenarios_firewall.SCENARIOS,
]
