"""The `datamarket` command line: one front for the market, the matching engine and the anonymizer."""
