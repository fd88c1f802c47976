"""perfgraph: trace PyTorch models into costed op/kernel graphs and map them onto hardware.

`import perfgraph` is light (no torch, no pandas): `perfgraph.analyze` and `perfgraph.Report` load
`perfgraph.api` on first use.

    import perfgraph
    report = perfgraph.analyze("resnet18", hardware="h100-sxm,tpu-v4")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from perfgraph.graph import PERFGRAPH_VERSION as __version__

if TYPE_CHECKING:
    from perfgraph.api import Report, analyze

__all__ = ["analyze", "Report", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("analyze", "Report"):
        from perfgraph import api

        return getattr(api, name)
    raise AttributeError(f"module 'perfgraph' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"analyze", "Report"})
