"""Engine start-up benchmark: restore from a snapshot plus the journal tail, against full replay."""
