#!/usr/bin/env python3
"""Record normalized goldens from the Python reference (weaver-kernel 0.12.0).

Usage: .venv/bin/python tools/reference/record.py --out Tests/Fixtures/reference
       [--only NAME ...] [--check]

Each scenario from scenarios.py runs on ONE fresh reference Kernel in its own
event loop; every step's output (or error) is normalized (normalize.py) and
written to ``<out>/<name>.json``. Stale ``*.json`` files that are no longer
scenarios are deleted. ``--check`` writes nothing and exits 1 if any file
would change. The format is documented in README.md (it is a contract with
the Swift replayer).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import logging
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import oracle  # noqa: E402
import steps  # noqa: E402
from normalize import Normalizer  # noqa: E402
from scenarios import SCENARIOS  # noqa: E402

# Ops whose output is fixed by their inputs: recorded verbatim (README "normalization").
UNNORMALIZED_OPS = {"sign_fields"}


def yaml_available() -> bool:
    try:
        import yaml  # noqa: F401  (the reference's optional 'policy' extra)
    except ImportError:
        return False
    return True


def needs_yaml(scenario: dict[str, Any]) -> bool:
    """True if the scenario loads a YAML policy (needs pyyaml, the 'policy' extra)."""
    specs = [scenario.get("setup", {}).get("policy") or {}]
    specs += [s for s in scenario["steps"] if s["op"] == "load_policy"]
    return any(spec.get("format") == "yaml" for spec in specs)


def error_result(exc: BaseException) -> dict[str, Any]:
    code = getattr(exc, "reason_code", None)
    return {
        "error": {
            "type": type(exc).__name__,
            "reason_code": None if code is None else str(code),
            "message": str(exc),
        }
    }


async def run_scenario(scenario: dict[str, Any]) -> list[dict[str, Any]]:
    kernel, provider, budgets = await oracle.build(copy.deepcopy(scenario.get("setup", {})))
    ctx = steps.Context(kernel, provider, budgets)
    saved: dict[str, Any] = {}
    results: list[dict[str, Any]] = []
    norm = Normalizer()
    for step in scenario["steps"]:
        resolved = oracle.resolve_refs(step, saved)
        fn = steps.OPS[step["op"]]
        try:
            raw = await fn(ctx, resolved)
        except Exception as exc:  # every reference failure is a recorded result
            result = error_result(exc)
            if "save" in step:
                raise RuntimeError(f"step saving {step['save']!r} failed: {exc!r}") from exc
            results.append(norm.value(result))
            continue
        if "save" in step:
            saved[step["save"]] = copy.deepcopy(raw)
        if step["op"] in UNNORMALIZED_OPS:
            results.append({"ok": raw})
        else:
            results.append({"ok": norm.value(raw)})
    return results


def render(scenario: dict[str, Any], results: list[dict[str, Any]]) -> str:
    doc = {
        "name": scenario["name"],
        "description": scenario["description"],
        "setup": scenario.get("setup", {}),
        "steps": scenario["steps"],
        "results": results,
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--only", nargs="*", default=None, help="record only these scenarios")
    parser.add_argument("--check", action="store_true", help="verify instead of writing")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # the reference logs denials/failures; not part of goldens

    names = [s["name"] for s in SCENARIOS]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise SystemExit(f"duplicate scenario names: {sorted(dupes)}")

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    changed: list[str] = []
    have_yaml = yaml_available()
    for scenario in SCENARIOS:
        if args.only and scenario["name"] not in args.only:
            continue
        if not have_yaml and needs_yaml(scenario):
            # Without pyyaml the reference only says "install the policy extra";
            # recording that would silently change the golden. Keep the committed one.
            print(f"warning: pyyaml missing, kept committed golden {scenario['name']}.json",
                  file=sys.stderr)
            continue
        text = render(scenario, asyncio.run(run_scenario(scenario)))
        path = out / f"{scenario['name']}.json"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            changed.append(path.name)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    if not args.only:
        for stale in sorted(out.glob("*.json")):
            if stale.stem not in names:
                changed.append(f"{stale.name} (stale)")
                if not args.check:
                    stale.unlink()
    for name in changed:
        print(("would change: " if args.check else "wrote: ") + name)
    print(f"{len(SCENARIOS)} scenarios, {len(changed)} file(s) changed")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
