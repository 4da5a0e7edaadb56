"""HTTP order-entry benchmark: the market under wrk against two ceilings measured in the same run."""
