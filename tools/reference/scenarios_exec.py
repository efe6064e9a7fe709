"""Dry run, fallback execution, invoke timeouts and the BudgetManager (spec 3.4, 3.5, 7.2, 8.5)."""

from __future__ import annotations

from fixtures import (
    ADMIN, FIXTURE_CAPS, READER, ROWS, STATS, TRACES, WRITER, cap, fixture_setup, grant, invoke,
    scenario,
)

SMALL = [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]


def exec_setup(routes: dict, drivers: list, **extra: object) -> dict:
    setup = {
        "capabilities": FIXTURE_CAPS + [cap("records.orphan", "Orphan", "Unrouted capability.")],
        "drivers": drivers,
        "routes": routes,
        "policy": {"type": "default"},
    }
    setup.update(extra)
    return setup


FIXTURE = {"type": "static", "driver_id": "fixture",
           "operations": {"records.list": SMALL, "records.orphan": {"orphan": True}}}
BAD = {"type": "failing", "driver_id": "bad", "message": "boom", "exception": "DriverError",
       "operations": ["records.list"]}
BAD_RT = {"type": "failing", "driver_id": "bad_rt", "message": "kaput: Bearer abc.def.ghi",
          "exception": "RuntimeError", "operations": ["records.list"]}
SLOW = {"type": "slow", "driver_id": "slow", "seconds": 0.2, "data": SMALL,
        "operations": ["records.list"]}

SCENARIOS = [
    scenario("dryrun_basic", "dry run: operation, driver, raw gate, cost, no side effects",
             fixture_setup(), [
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", READER, "table", dry_run=True),
                 invoke("$g.token", READER, "raw", {"operation": "list_all", "x": [1]}, dry_run=True),
                 invoke("$g.token", READER, "handle_only", {"operation": 42}, dry_run=True),
                 invoke("$g.token", READER, "bogus", dry_run=True),
                 grant("records.update", WRITER, save="gw"),
                 invoke("$gw.token", WRITER, "summary", dry_run=True),
                 grant("records.drop", ADMIN, save="ga"),
                 invoke("$ga.token", ADMIN, "raw", dry_run=True),
                 invoke("$ga.token", READER, "raw", dry_run=True),
                 TRACES, STATS,
             ]),
    scenario("dryrun_routes", "dry run driver_id: first planned driver even if unregistered; "
             "empty plan -> ''",
             exec_setup({"records.list": ["ghost", "fixture"], "records.update": []}, [FIXTURE],
                        fallback=["fallback-driver"]), [
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", READER, "summary", dry_run=True),
                 grant("records.update", WRITER, save="gu"),
                 invoke("$gu.token", WRITER, "summary", dry_run=True),
                 grant("records.orphan", READER, save="go"),
                 invoke("$go.token", READER, "summary", dry_run=True),
             ]),
    scenario("fallback_bad_then_fixture", "route [bad, fixture]: fixture serves, fallback counted",
             exec_setup({"records.list": ["bad", "fixture"]}, [BAD, FIXTURE]), [
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", READER, "table", save="f"),
                 {"op": "explain", "action_id": "$f.action_id"}, STATS,
             ]),
    scenario("fallback_all_failed", "unregistered route entries are skipped silently; "
             "'No drivers available.'; last attempted driver in the trace",
             exec_setup({"records.list": ["ghost1", "ghost2"], "records.update": ["bad", "ghost"],
                         "records.drop": []}, [BAD, FIXTURE]), [
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", READER, "summary"),
                 grant("records.update", WRITER, save="gu"),
                 invoke("$gu.token", WRITER, "summary", {"operation": "records.list"}),
                 invoke("$gu.token", WRITER, "summary"),
                 grant("records.drop", ADMIN, save="gd"),
                 invoke("$gd.token", ADMIN, "raw"),
                 grant("records.orphan", READER, save="go"),
                 invoke("$go.token", READER, "summary"),
                 TRACES, STATS,
             ]),
    scenario("fallback_failing_handlers", "handler exceptions are wrapped; trace error redacted",
             exec_setup({"records.list": ["bad_rt"], "records.update": ["bad_rt", "bad"]},
                        [BAD, BAD_RT, FIXTURE]), [
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", READER, "summary"),
                 grant("records.update", WRITER, save="gu"),
                 invoke("$gu.token", WRITER, "table", {"operation": "records.list"}),
                 TRACES, STATS,
             ]),
    scenario("fallback_timeout", "invoke_timeout_s 0.01 with a slow driver times out; "
             "[slow, fixture] falls back",
             exec_setup({"records.list": ["slow"], "records.update": ["slow", "fixture"]},
                        [SLOW, FIXTURE]), [
                 grant("records.list", READER, constraints={"invoke_timeout_s": 0.01}, save="g"),
                 invoke("$g.token", READER, "summary"),
                 grant("records.update", WRITER, constraints={"invoke_timeout_s": 0.01}, save="gu"),
                 invoke("$gu.token", WRITER, "table", {"operation": "records.list"}),
                 grant("records.list", WRITER, constraints={"invoke_timeout_s": 5}, save="g5"),
                 invoke("$g5.token", WRITER, "table"),
                 TRACES, STATS,
             ]),
    scenario("fallback_timeout_invalid", "bad invoke_timeout_s -> untraced DriverError",
             exec_setup({"records.list": ["fixture"]}, [FIXTURE]), [
                 grant("records.list", READER, constraints={"invoke_timeout_s": -5}, save="g1"),
                 invoke("$g1.token", READER),
                 grant("records.list", READER, constraints={"invoke_timeout_s": "abc"}, save="g2"),
                 invoke("$g2.token", READER),
                 grant("records.list", READER, constraints={"invoke_timeout_s": True}, save="g3"),
                 invoke("$g3.token", READER),
                 grant("records.list", READER, constraints={"invoke_timeout_s": 0}, save="g4"),
                 invoke("$g4.token", READER),
                 grant("records.list", READER, constraints={"invoke_timeout_s": [1]}, save="g5"),
                 invoke("$g5.token", READER),
                 grant("records.list", READER, constraints={"invoke_timeout_s": None}, save="g6"),
                 invoke("$g6.token", READER),
                 invoke("$g1.token", READER, dry_run=True),
                 TRACES, STATS,
             ]),
    scenario("budget_low_downgrade", "total 1000, 980 used: table -> handle_only (real and dry run)",
             fixture_setup(budget={"total": 1000, "default_request": 4000, "pre_used": 980}), [
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", READER, "table", dry_run=True),
                 invoke("$g.token", READER, "table", save="f"),
                 invoke("$g.token", READER, "table", dry_run=True),
                 {"op": "explain", "action_id": "$f.action_id"}, STATS,
             ]),
    scenario("budget_exhausted", "used == total: BudgetExhausted before any driver, untraced",
             fixture_setup(budget={"total": 1000, "default_request": 4000, "pre_used": 1000}), [
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", READER, "summary"),
                 invoke("$g.token", READER, "raw", dry_run=True),
                 TRACES, STATS,
             ]),
    scenario("budget_usage_recorded", "summary/table record counted tokens; dry run shows remaining",
             fixture_setup(budget={"total": 100000, "default_request": 4000}), [
                 grant("records.list", ADMIN, save="g"),
                 invoke("$g.token", ADMIN, "summary", dry_run=True),
                 invoke("$g.token", ADMIN, "summary"),
                 invoke("$g.token", ADMIN, "summary", dry_run=True),
                 invoke("$g.token", ADMIN, "table"),
                 invoke("$g.token", ADMIN, "table", dry_run=True),
                 invoke("$g.token", ADMIN, "handle_only"),
                 invoke("$g.token", ADMIN, "handle_only", dry_run=True),
                 invoke("$g.token", ADMIN, "raw"),
                 invoke("$g.token", ADMIN, "raw", dry_run=True),
             ]),
    scenario("budget_thresholds", "suggested_mode bands: <0.05, <=0.20, <=0.50 (0.05 exactly)",
             fixture_setup(budget={"total": 1000, "default_request": 10, "pre_used": 600}), [
                 grant("records.list", ADMIN, save="g"),
                 invoke("$g.token", ADMIN, "raw", dry_run=True),
                 invoke("$g.token", ADMIN, "summary", dry_run=True),
                 invoke("$g.token", ADMIN, "raw", save="f1"),
                 invoke("$g.token", ADMIN, "raw", dry_run=True),
                 STATS,
             ]),
    scenario("budget_band_edges", "remaining exactly 5% -> summary; exactly 20% keeps summary cap",
             fixture_setup(data=ROWS[:1],
                           budget={"total": 1000, "default_request": 1, "pre_used": 950}), [
                 grant("records.list", ADMIN, save="g"),
                 invoke("$g.token", ADMIN, "table", dry_run=True),
                 invoke("$g.token", ADMIN, "handle_only", dry_run=True),
                 invoke("$g.token", ADMIN, "table"),
                 invoke("$g.token", ADMIN, "table", dry_run=True),
             ]),
    scenario("budget_band_twenty", "remaining exactly 20%: raw/table capped at summary",
             fixture_setup(budget={"total": 1000, "default_request": 1, "pre_used": 800}), [
                 grant("records.list", ADMIN, save="g"),
                 invoke("$g.token", ADMIN, "raw", dry_run=True),
                 invoke("$g.token", ADMIN, "table", dry_run=True),
                 invoke("$g.token", ADMIN, "summary", dry_run=True),
                 invoke("$g.token", ADMIN, "handle_only", dry_run=True),
             ]),
    scenario("budget_band_half", "remaining exactly 50%: only raw is capped (to table)",
             fixture_setup(budget={"total": 1000, "default_request": 1, "pre_used": 500}), [
                 grant("records.list", ADMIN, save="g"),
                 invoke("$g.token", ADMIN, "raw", dry_run=True),
                 invoke("$g.token", ADMIN, "table", dry_run=True),
                 invoke("$g.token", ADMIN, "summary", dry_run=True),
             ]),
    scenario("invoke_handle_too_large", "HandleTooLarge after the driver ran: failure trace with the "
             "serving driver, original exception type re-raised; raw mode stores no handle",
             fixture_setup(handles={"max_entry_bytes": 100}), [
                 grant("records.list", ADMIN, save="g"),
                 invoke("$g.token", ADMIN, "summary"),
                 invoke("$g.token", ADMIN, "raw"),
                 TRACES, STATS,
             ]),
]
