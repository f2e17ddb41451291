"""A sample of the recorded AWS conformance corpus, run through the live API.

Three cases per state type and per feature (the first ones in the corpus that record a
history), compared on status, output or error and cause, and the history event by event
(type, id, previousEventId, details; see ``conformance.history_problems``).
test_conformance_corpus.py runs the whole corpus at once, concurrently; this sample runs its
cases one at a time, each on a server that has nothing else to do.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.states_api.conformance import run_case, sample
from tests.support.sfn_corpus import KNOWN_GAPS

FEATURES = [
    "state:Pass", "state:Choice", "state:Wait", "state:Succeed", "state:Fail", "state:Parallel",
    "state:Map", "map:inline", "map:distributed", "jsonpath-io", "jsonata", "intrinsic",
    "variables", "context-object", "catch", "retry", "start_sync_execution",
    "create_state_machine",
]

CASES = sample(FEATURES, per_feature=3)


def _param(case: dict[str, Any]) -> Any:
    known = case["id"] in KNOWN_GAPS
    marks = [pytest.mark.xfail(reason=KNOWN_GAPS[case["id"]], strict=True)] if known else []
    return pytest.param(case, id=case["id"], marks=marks)


def test_sample_covers_every_state_type() -> None:
    features = {f for case in CASES for f in case["meta"]["features"]}
    assert {f for f in FEATURES if f.startswith("state:")} <= features
    assert {"start_sync_execution", "create_state_machine"} <= {
        case["meta"]["api"] for case in CASES
    }
    assert 25 <= len(CASES) <= 40


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_case_conforms(fast_sfn: Any, case: dict[str, Any]) -> None:
    assert run_case(fast_sfn, case) == []
