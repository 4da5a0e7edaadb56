"""Several API processes, one engine owner: the channel that carries trading commands.

The engine owner (`DATAMARKET_ENGINE_ROLE=owner`, the default) runs the matching engine and,
with `DATAMARKET_ENGINE_SERVE_CHANNEL=true`, answers the commands of worker processes
(`DATAMARKET_ENGINE_ROLE=worker`), whose order desk forwards every trading command to it. The
channel is a Unix socket beside the data (market/engine_channel/local.py) or, with
`DATAMARKET_REDIS_URL` set, a Redis Stream (market/engine_channel/stream.py).
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from market.engine_channel.codec import EngineChannelUnavailable
from market.engine_channel.forwarding import Channel, ForwardingOrderDesk
from market.engine_channel.handler import CommandHandler
from market.settings import Settings
from market.trading.desk import OrderDesk

__all__ = [
    "ChannelServer",
    "EngineChannelUnavailable",
    "ForwardingOrderDesk",
    "make_order_desk",
    "open_client",
    "serve_channel",
]


class ChannelServer(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


def socket_path(settings: Settings) -> Path:
    return settings.engine_channel_socket or settings.data_dir / "engine.sock"


def key_path(settings: Settings) -> Path:
    return settings.data_dir / "engine-channel.key"


def make_order_desk(settings: Settings, engine: Engine, **kwargs: Any) -> OrderDesk:
    """The owner's order desk, or a worker's that forwards to the owner (by the engine role)."""
    if settings.engine_role == "worker":
        opener: Callable[[], Channel] = lambda: open_client(settings)  # noqa: E731
        return ForwardingOrderDesk(engine, settings, channel=opener, **kwargs)
    return OrderDesk(engine, settings, **kwargs)


def open_client(settings: Settings) -> Channel:
    """A worker's connection to the engine owner (Redis when configured, else the socket)."""
    timeout = settings.engine_channel_timeout_seconds
    if settings.redis_url:
        import redis

        from market.engine_channel.stream import StreamChannelClient

        client = redis.Redis.from_url(settings.redis_url)
        return StreamChannelClient(client, settings.redis_prefix, timeout)
    from market.engine_channel.local import LocalChannelClient

    return LocalChannelClient(socket_path(settings), key_path(settings), timeout)


def serve_channel(settings: Settings, orders: OrderDesk, engine: Engine) -> ChannelServer | None:
    """Start answering workers' commands, if this process owns the engine and is asked to."""
    if settings.engine_role != "owner" or not settings.engine_serve_channel:
        return None
    handle = CommandHandler(orders, engine).handle
    server: ChannelServer
    if settings.redis_url:
        import redis

        from market.engine_channel.stream import StreamChannelServer

        server = StreamChannelServer(
            redis.Redis.from_url(settings.redis_url), settings.redis_prefix, handle
        )
    else:
        from market.engine_channel.local import LocalChannelServer, owner_key

        server = LocalChannelServer(socket_path(settings), owner_key(key_path(settings)), handle)
    server.start()
    return server
