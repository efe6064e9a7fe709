"""Unit tests of the recorder's own logic (normalization, references, delimiter choice).

Run: .venv/bin/python -m unittest discover -s tools/reference
"""

from __future__ import annotations

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import oracle  # noqa: E402
from gen_billing import raw_delimiter  # noqa: E402
from normalize import Normalizer  # noqa: E402
from scenarios import SCENARIOS  # noqa: E402

U1 = "0b5c2a9e-1f3d-4c5e-9a7b-123456789abc"
U2 = "ffffffff-ffff-4fff-bfff-ffffffffffff"


class NormalizerTests(unittest.TestCase):
    def test_uuids_numbered_by_first_appearance_keys_before_values(self) -> None:
        n = Normalizer()
        out = n.value({U2: [f"x {U1} y {U2}"], "k": U1})
        self.assertEqual(out, {"<uuid:1>": ["x <uuid:2> y <uuid:1>"], "k": "<uuid:2>"})
        self.assertEqual(n.string(U2), "<uuid:1>")  # mapping is shared across calls

    def test_non_v4_uuid_kept(self) -> None:
        self.assertEqual(Normalizer().string("0b5c2a9e-1f3d-1c5e-9a7b-123456789abc"),
                         "0b5c2a9e-1f3d-1c5e-9a7b-123456789abc")

    def test_datetimes(self) -> None:
        n = Normalizer()
        self.assertEqual(n.string("at 2026-01-02T03:04:05.123456+00:00."), "at <datetime>.")
        self.assertEqual(n.string("2026-01-02T03:04:05Z|2026-01-02T03:04:05"),
                         "<datetime>|<datetime>")
        self.assertEqual(n.string("2026-01-02 03:04:05"), "2026-01-02 03:04:05")

    def test_signature_values_replaced_anywhere(self) -> None:
        out = Normalizer().value({"a": [{"signature": {"x": U1}}], "signature": None})
        self.assertEqual(out, {"a": [{"signature": "<sig>"}], "signature": "<sig>"})

    def test_numbers_untouched(self) -> None:
        out = Normalizer().value([1, 1.0, -0.0, True, None])
        self.assertEqual([type(v) for v in out], [int, float, float, bool, type(None)])


class ReferenceTests(unittest.TestCase):
    def test_paths_and_indices(self) -> None:
        saved = {"g": {"token": {"id": "t", "l": [{"a": 1}]}}}
        step = {"x": "$g.token.id", "y": ["$g.token.l.0.a"], "$g": "key kept", "z": "$ not"}
        self.assertEqual(oracle.resolve_refs(step, saved),
                         {"x": "t", "y": [1], "$g": "key kept", "z": "$ not"})

    def test_unknown_name_is_an_error(self) -> None:
        with self.assertRaises(KeyError):
            oracle.resolve_refs({"x": "$nope"}, {})


class ScenarioListTests(unittest.TestCase):
    def test_names_unique_and_enough(self) -> None:
        names = [s["name"] for s in SCENARIOS]
        self.assertEqual(len(names), len(set(names)))
        self.assertGreaterEqual(len(names), 45)

    def test_raw_delimiter_grows_when_needed(self) -> None:
        self.assertEqual(raw_delimiter('{"a":1}'), "#")
        self.assertEqual(raw_delimiter('x"""#y'), "##")
        self.assertEqual(raw_delimiter('x\\##y"""#'), "###")


if __name__ == "__main__":
    unittest.main()
