"""HTTP order-entry benchmark: the market under wrk against three ceilings measured in the same run."""
