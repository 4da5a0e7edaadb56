"""Information banks: delegations, per-person judgement, the data-ethics board, pooled provision."""
