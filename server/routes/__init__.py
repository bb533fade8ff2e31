"""Thin Litestar controllers: parse, one service call, return a Struct."""
