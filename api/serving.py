"""How uvicorn serves the app: TLS and which reverse proxies' forwarded headers are believed.

`datamarket serve` and the tests build the server from the same options. Forwarded headers
(`X-Forwarded-For`, `X-Forwarded-Proto`) are trusted only from the configured proxy addresses:
trusted from anyone, they would let a client choose the address its rate limits count against.
uvicorn's own default trusts 127.0.0.1; here the default trusts no one.
"""

import gc
from pathlib import Path
from typing import Any

from market.settings import Settings


def uvicorn_options(
    settings: Settings,
    *,
    host: str,
    port: int,
    ssl_certfile: Path | None = None,
    ssl_keyfile: Path | None = None,
    forwarded_allow_ips: str | None = None,
    log_level: str = "info",
) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config` (command-line values win over settings)."""
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise ValueError("give both --ssl-certfile and --ssl-keyfile, or neither")
    proxies = settings.forwarded_allow_ips if forwarded_allow_ips is None else forwarded_allow_ips
    proxies = proxies.strip()
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies or "",
        # Server banner off: the version of the server software is nobody's business.
        "server_header": False,
    }
    if ssl_certfile is not None:
        options["ssl_certfile"] = str(ssl_certfile)
        options["ssl_keyfile"] = str(ssl_keyfile)
    return options


# The young generation is collected after this many net allocations (Python's default is 700).
YOUNG_COLLECTION_ALLOCATIONS = 20_000


def tune_collector() -> None:
    """Garbage collection for a serving process, called once start-up is done.

    What start-up built (imported modules, the rebuilt order books) never becomes garbage: it is
    frozen, so no collection scans it again. An order frees almost everything it allocates by
    reference counting, so the young generation is collected after 20,000 net allocations
    rather than 700. At 700 the collector ran about 35 times a second under order entry, 3% of
    the server's CPU, and its full collections of the growing book paused every request for up
    to 40 ms (docs/benchmarks.md). Cyclic garbage waits longer to be freed: a few megabytes at
    most.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_ALLOCATIONS, *gc.get_threshold()[1:])
