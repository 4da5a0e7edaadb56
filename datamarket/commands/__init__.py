"""Command groups of the `datamarket` CLI, one module per feature, each with `register(app, bench_app)`."""
