"""Seeded replay of 100,000 mixed commands: every build and book ends in the same state."""

import hashlib

import pytest

from bench.matching.stream import mixed_stream
from tests.unit.matching.conftest import BUILDS, NOT_BUILT, load_build

MESSAGES = 100_000
SEED = 20261127
# Pinned so that any change of behaviour shows up here, not only as a disagreement.
EXPECTED_STATE_HASH = "e2132fb3880d1e0c1e2c348d615b3b2895234483e93d6ab8b16e282536742c3c"


def replay(build: str, reference: bool) -> tuple[str, str]:
    """Final state hash and a digest of every event, for one build and book."""
    loaded = load_build(BUILDS[build])
    assert loaded is not None
    api, reference_module = loaded
    engine = api.Engine(reference_module.ReferenceBook if reference else None)
    digest = hashlib.sha256()
    commands = mixed_stream(api, SEED, MESSAGES)
    for start in range(0, len(commands), 10_000):
        for event in engine.apply_many(commands[start : start + 10_000]):
            digest.update(repr(event).encode())
        engine.validate_internal_state()
    return engine.state_hash(), digest.hexdigest()


@pytest.fixture(scope="module")
def interpreted_fast() -> tuple[str, str]:
    """The interpreted fast book's outcome (the baseline)."""
    return replay("interpreted", False)


def test_interpreted_fast_book_reaches_the_pinned_state(interpreted_fast: tuple[str, str]) -> None:
    assert interpreted_fast[0] == EXPECTED_STATE_HASH


@NOT_BUILT
def test_compiled_fast_book_agrees(interpreted_fast: tuple[str, str]) -> None:
    assert replay("compiled", False) == interpreted_fast


@NOT_BUILT
def test_compiled_reference_book_agrees(interpreted_fast: tuple[str, str]) -> None:
    assert replay("compiled", True) == interpreted_fast


def test_interpreted_reference_book_agrees_on_a_shorter_stream() -> None:
    loaded = load_build("matching")
    assert loaded is not None
    exports, reference = loaded
    commands = mixed_stream(exports, SEED + 1, 20_000)
    fast = exports.Engine()
    slow = exports.Engine(reference.ReferenceBook)
    assert fast.apply_many(commands) == slow.apply_many(commands)
    assert fast.state_hash() == slow.state_hash()
