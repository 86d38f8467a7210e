"""CRC-32 of big records on several cores: blocks checksummed in threads, then combined.

zlib releases the GIL while it checksums a large buffer, so blocks of one record
can be checked in parallel; their CRCs are then combined as zlib's crc32_combine
does (polynomial arithmetic modulo CRC-32's polynomial), with no second pass over
the bytes.
"""

from __future__ import annotations

import os
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any

__all__ = ["BLOCK", "combined", "cpus", "crc32_combine", "crc_of"]

BLOCK = 2 << 20  # bytes checksummed by one task


def crc_of(head: bytes, pieces: list[Any], size: int, pool: ThreadPoolExecutor | None) -> Any:
    """The CRC-32 of ``head`` then ``pieces`` (``size`` bytes in all): an int, or blocks
    computed in ``pool``.

    Only records of at least a block go to the pool: for smaller ones handing the
    work over costs more than doing it.
    """
    crc = zlib.crc32(head)
    if pool is None or size < BLOCK:
        for piece in pieces:
            crc = zlib.crc32(piece, crc)
        return crc
    blocks: list[tuple[Future[int] | int, int]] = [(crc, len(head))]
    for piece in pieces:
        view = memoryview(piece).cast("B")
        for at in range(0, len(view), BLOCK):
            block = view[at : at + BLOCK]
            blocks.append((pool.submit(zlib.crc32, block), len(block)))
    return blocks


def combined(blocks: list[tuple[Future[int] | int, int]]) -> int:
    total = 0
    for part, length in blocks:
        value = part if isinstance(part, int) else part.result()
        total = crc32_combine(total, value, length)
    return total


_POLY = 0xEDB88320  # CRC-32's polynomial, reflected, as zlib has it


def _mult(a: int, b: int) -> int:
    """a * b modulo the CRC polynomial (zlib's multmodp)."""
    if not a:
        return 0
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if a & (m - 1) == 0:
                return p
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


def _powers() -> list[int]:
    table, p = [], 1 << 30  # x^1
    for _ in range(32):
        table.append(p)
        p = _mult(p, p)
    return table


_X2N = _powers()  # x^(2^k) modulo the polynomial


@lru_cache(maxsize=64)
def _shift(length: int) -> int:
    """x^(8 * length) modulo the polynomial: appending ``length`` bytes (zlib's x2nmodp)."""
    p, k, n = 1 << 31, 3, length
    while n:
        if n & 1:
            p = _mult(_X2N[k & 31], p)
        n >>= 1
        k += 1
    return p


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A + B from those of A and B, and B's length (zlib's crc32_combine)."""
    return _mult(_shift(length2), crc1) ^ crc2


def cpus() -> int:
    try:
        return min(len(os.sched_getaffinity(0)), 4)
    except AttributeError:  # not on Linux
        return min(os.cpu_count() or 1, 4)
