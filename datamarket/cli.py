"""Entry point of the `datamarket` command line.

Each feature registers its commands from its own module in `datamarket.commands`, so the
front stays a list of registrations.
"""

import typer

from datamarket.commands import anonymize as anonymize_commands
from datamarket.commands import api_docs as api_docs_commands
from datamarket.commands import bench_http as bench_http_commands
from datamarket.commands import catalog as catalog_commands
from datamarket.commands import delivery as delivery_commands
from datamarket.commands import market as market_commands
from datamarket.commands import matching as matching_commands
from datamarket.commands import settlement as settlement_commands
from datamarket.commands import storage as storage_commands

app = typer.Typer(
    help="Data trading market (データ取引市場): run the market, trade, anonymize, benchmark.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks (figures go to docs/benchmarks.md).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")

market_commands.register(app, bench_app)
matching_commands.register(app, bench_app)
anonymize_commands.register(app, bench_app)
storage_commands.register(app, bench_app)
settlement_commands.register(app, bench_app)
api_docs_commands.register(app, bench_app)
delivery_commands.register(app, bench_app)
catalog_commands.register(app, bench_app)
bench_http_commands.register(app, bench_app)
