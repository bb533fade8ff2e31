"""``trainyard compare``: placeholder until GET /compare exists."""

from __future__ import annotations

import argparse

from common.client import TrainyardClient

from .outcome import CliError


async def compare(api: TrainyardClient, args: argparse.Namespace) -> int:
    raise CliError("compare is not available yet")
