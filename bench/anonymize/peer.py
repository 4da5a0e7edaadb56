"""anonypy (a pandas Mondrian) against our Mondrian on the same Adult input, QIs and k."""

from __future__ import annotations

import time
from typing import Any

from anonymize import Algorithm, Config, Definition, KAnonymity, anonymize
from bench.anonymize.adult import load_adult, timed

PEER_QIS = ["age", "education", "marital-status", "race", "sex"]
PEER_SENSITIVE = "salary-class"
PEER_K = 5


def run_peer() -> dict[str, Any]:
    """Time and DM of anonypy and of our Mondrian, with categorical QIs as unordered sets."""
    import anonypy

    data, _ = load_adult()
    frame = data[[*PEER_QIS, PEER_SENSITIVE]].copy()
    peer_frame = frame.copy()
    peer_frame["age"] = peer_frame["age"].astype(int)
    for column in [*PEER_QIS[1:], PEER_SENSITIVE]:
        peer_frame[column] = peer_frame[column].astype("category")

    start = time.perf_counter()
    preserver = anonypy.Preserver(peer_frame, PEER_QIS, PEER_SENSITIVE)
    partitions = preserver.modrian.partition(PEER_K)
    anonypy.anonymize(peer_frame, partitions, PEER_QIS, PEER_SENSITIVE)
    peer_seconds = time.perf_counter() - start
    peer_dm = sum(len(partition) ** 2 for partition in partitions)

    definition = Definition.of(quasi=PEER_QIS, sensitive=[PEER_SENSITIVE])
    config = Config((KAnonymity(PEER_K),), algorithm=Algorithm.MONDRIAN)
    ours_seconds, ours = timed(lambda: anonymize(frame, definition, None, config))
    return {
        "peer": "anonypy 0.2.1",
        "peer_qis": PEER_QIS,
        "peer_seconds": peer_seconds,
        "peer_dm": peer_dm,
        "peer_partitions": len(partitions),
        "ours_mondrian_seconds": ours_seconds,
        "ours_mondrian_dm": ours.metrics.dm,
        "ours_mondrian_classes": ours.metrics.equivalence_classes,
        "peer_over_ours_time": peer_seconds / ours_seconds,
        "peer_over_ours_dm": peer_dm / ours.metrics.dm,
    }
