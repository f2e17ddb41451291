"""The whole recorded AWS conformance corpus, run once through the live API.

One server of this module's own (Waits 100 times faster) gets every case: all machines are
created and started by a pool of clients first, then each execution is awaited and compared
like the sample (status, output or error and cause, and the history event by event). The
runs happen once, in a module fixture; each case is then its own test of that run's outcome.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.states_api.conformance import finish_case, load_cases, start_case
from tests.support.sfn_corpus import KNOWN_GAPS

CASES = list(load_cases())
CLIENTS = 8


@pytest.fixture(scope="module")
def outcomes(fast_sfn: Any) -> dict[str, list[str]]:
    """Each case's mismatches (empty: it conforms), from one concurrent run of them all."""
    with ThreadPoolExecutor(CLIENTS) as pool:
        started = list(pool.map(lambda case: start_case(fast_sfn, case), CASES))
        problems = list(pool.map(
            lambda s: s if isinstance(s, list) else finish_case(fast_sfn, s), started
        ))
    return {case["id"]: found for case, found in zip(CASES, problems, strict=True)}


def _param(case: dict[str, Any]) -> Any:
    reason = KNOWN_GAPS.get(case["id"])
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(case["id"], id=case["id"], marks=marks)


def test_corpus_is_complete() -> None:
    assert len(CASES) == 593
    assert len({case["id"] for case in CASES}) == len(CASES)
    assert set(KNOWN_GAPS) <= {case["id"] for case in CASES}


@pytest.mark.parametrize("case_id", [_param(c) for c in CASES])
def test_case_conforms(outcomes: dict[str, list[str]], case_id: str) -> None:
    assert outcomes[case_id] == []
