"""Engines that read a SourceDocument into a Receipt or Invoice, and the registry that names them."""

from workbench.engines.base import Engine, available_engines, create_engine, preload_engine, register

__all__ = ["Engine", "available_engines", "create_engine", "preload_engine", "register"]
