"""Process-wide resources of the app (the Store, the engines), each built once behind st.cache_resource."""

import platform
from pathlib import Path

import streamlit as st

from workbench.config import Settings, load_settings
from workbench.engines import Engine, create_engine
from workbench.store import Store


def settings() -> Settings:
    """The settings of this run, read from the WORKBENCH_* environment (cheap; not cached)."""
    return load_settings()


@st.cache_resource(show_spinner=False)
def _store(db_path: str) -> Store:
    return Store(db_path)


def store() -> Store:
    """The shared Store of the database named by the settings (one per database path and process)."""
    return _store(str(settings().db))


@st.cache_resource(show_spinner="Loading the reading engine (once per server)…")
def _engine(name: str) -> Engine:
    return create_engine(name, load_settings())


def engine(name: str) -> Engine:
    """The engine called `name`, built on first use and then shared by every session of this server."""
    return _engine(name)


def has_accelerator() -> bool:
    """True when a GPU is present: an NVIDIA driver or Apple silicon (checked without importing torch)."""
    return Path("/proc/driver/nvidia/version").exists() or (
        platform.system() == "Darwin" and platform.machine() == "arm64")
