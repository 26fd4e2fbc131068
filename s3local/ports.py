"""Pick free loopback ports for a server that also listens on ``port + offset``."""

from __future__ import annotations

import random
import socket
from pathlib import Path

# SeaweedFS derives each gRPC port from its HTTP port by this fixed offset.
GRPC_OFFSET = 10000
_LOWEST = 10000
_HIGHEST = 65535


def _ephemeral_low() -> int:
    """First port of the kernel's range for outgoing connections (Linux; 32768 elsewhere)."""
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on (or holds) ``host:port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def pick_ports(
    count: int, offset: int = GRPC_OFFSET, rng: random.Random | None = None
) -> list[int]:
    """Return ``count`` distinct ports where both ``port`` and ``port + offset`` are free.

    Ports are drawn below the kernel's ephemeral range when it leaves room, so
    the client sockets of a busy test run cannot take them between this check
    and the server's bind. The check is still only a snapshot: callers retry
    the start when the server reports an address in use.
    """
    rng = rng or random.SystemRandom()
    high = _ephemeral_low() - offset
    if high - _LOWEST < count * 10:
        high = _HIGHEST - offset
    taken: set[int] = set()
    chosen: list[int] = []
    for _ in range(count * 500):
        port = rng.randrange(_LOWEST, high)
        pair = {port, port + offset}
        if pair & taken or not all(is_free(p) for p in pair):
            continue
        taken |= pair
        chosen.append(port)
        if len(chosen) == count:
            return chosen
    raise RuntimeError(f"could not find {count} free port pairs on 127.0.0.1")
