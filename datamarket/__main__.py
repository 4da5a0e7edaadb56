"""`python -m datamarket` runs the command line."""

from datamarket.cli import app

app()
