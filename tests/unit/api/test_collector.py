"""A serving process freezes what start-up built and collects its young generation less often."""

import gc
from collections.abc import Iterator

import pytest

from api.serving import YOUNG_COLLECTION_ALLOCATIONS, tune_collector


@pytest.fixture
def collector_restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector_restored")
def test_tune_collector_freezes_start_up_objects_and_raises_only_the_young_threshold() -> None:
    gc.set_threshold(700, 10, 10)
    built_at_start_up = [object() for _ in range(10)]
    tune_collector()
    assert gc.get_threshold() == (YOUNG_COLLECTION_ALLOCATIONS, 10, 10)
    # Frozen objects sit in the permanent generation, which no collection scans.
    assert gc.get_freeze_count() > len(built_at_start_up)
    assert not any(obj is built_at_start_up for obj in gc.get_objects())
