"""The Engine protocol and the name → factory registry; heavy imports live inside the factories."""

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from typing import Literal

from schemas import DocType, Invoice, Receipt, SourceDocument
from workbench.config import Settings
from workbench.errors import ConfigError


@runtime_checkable
class Engine(Protocol):
    """Reads one loaded document into the schema for its type. Must be thread-safe once built."""

    name: str

    def read(self, source: SourceDocument, doc_type: DocType | Literal["auto"]) -> Receipt | Invoice:
        """Return the document's fields (with `auto`, the engine tells a receipt from an invoice).

        Raise EngineError on failure; never return an empty guess.
        """
        ...


EngineFactory = Callable[[Settings], Engine]

_FACTORIES: dict[str, EngineFactory] = {}


def register(name: str, factory: EngineFactory) -> None:
    """Make an engine available under `name` (tests register fakes the same way)."""
    _FACTORIES[name] = factory


def available_engines() -> list[str]:
    """Names of the registered engines."""
    _register_builtins()
    return sorted(_FACTORIES)


def create_engine(name: str, settings: Settings) -> Engine:
    """Build the engine called `name`; a ConfigError lists the known names if there is none."""
    _register_builtins()
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ConfigError(f"unknown engine {name!r}; choose one of: {', '.join(sorted(_FACTORIES))}") from None
    return factory(settings)


def preload_engine(name: str) -> None:
    """Import what engine `name` runs on without building it, so worker processes forked afterwards start quickly.

    Only the embedded OCR engine reads in forked processes; for the others this does nothing.
    """
    if name == "ocr":
        from workbench.engines.ocr import preload

        preload()


def _register_builtins() -> None:
    if _FACTORIES.keys() >= {"ocr", "qwen3-vl", "openai"}:
        return

    def ocr(settings: Settings) -> Engine:
        from workbench.engines.ocr import OcrEngine

        return OcrEngine(settings)

    def qwen3_vl(settings: Settings) -> Engine:
        from workbench.engines.qwen3_vl import Qwen3VLEngine

        return Qwen3VLEngine(settings)

    def openai(settings: Settings) -> Engine:
        from workbench.engines.openai_compatible import OpenAICompatibleEngine

        return OpenAICompatibleEngine(settings)

    _FACTORIES.setdefault("ocr", ocr)
    _FACTORIES.setdefault("qwen3-vl", qwen3_vl)
    _FACTORIES.setdefault("openai", openai)
