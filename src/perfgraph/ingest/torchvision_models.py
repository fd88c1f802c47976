"""torchvision models by name, built with `weights=None`, sized from their weights' published metadata.

The default input size is the eval crop of the model's default weights (299 for inception_v3, 600 for
efficientnet_b7, 518 for vit_h_14's SWAG weights); `weights=` picks another weight's crop and reference
figures. Published MACs come from `weights.meta["_ops"]` (GFLOPS in torchvision's words, which are
multiply-accumulates of convolutions and matmuls) and parameters from `meta["num_params"]`.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Any

import torch
import torchvision
from torchvision import models as tvm

from perfgraph.ingest.model_source import BuiltModel, ModelSourceError, check_int64

FAMILIES = {
    "classification": tvm,
    "segmentation": tvm.segmentation,
    "detection": tvm.detection,
    "video": tvm.video,
    "optical_flow": tvm.optical_flow,
    "quantization": tvm.quantization,
}
_VIDEO_FRAMES = 16


@lru_cache(maxsize=None)
def family_of() -> dict[str, str]:
    table: dict[str, str] = {}
    for family, module in FAMILIES.items():
        for name in torchvision.models.list_models(module=module):
            table.setdefault(name, family)
    return table


def list_names(family: str | None = None) -> list[str]:
    return sorted(n for n, f in family_of().items() if family is None or f == family)


def weights_of(name: str, weights: str | None = None) -> Any:
    enum = torchvision.models.get_model_weights(name)
    if weights is None or weights.upper() == "DEFAULT":
        return enum.DEFAULT
    try:
        return enum[weights.upper()]
    except KeyError:
        raise ModelSourceError(
            f"{name} has no weights {weights!r}; choose from {', '.join(w.name for w in enum)}") from None


def eval_size(name: str, w: Any) -> tuple[int, int]:
    """The (height, width) the weights were evaluated at."""
    keywords = getattr(w.transforms, "keywords", None) or {}
    size = keywords.get("crop_size") or keywords.get("resize_size")
    if size is None:
        family = family_of()[name]
        if family == "detection":
            size = 300 if "ssd300" in name else 320 if "320" in name else 800
        elif family == "optical_flow":
            size = (512, 512)  # the size torchvision's published RAFT figures (`_ops`) are counted at
        else:
            size = 224
    if isinstance(size, (list, tuple)):
        size = tuple(size) if len(size) == 2 else (size[0], size[0])
    else:
        size = (size, size)
    return int(size[0]), int(size[1])


def build(name: str, *, batch: int, input_shape: list[int] | None = None, weights: str | None = None,
          params: dict[str, str] | None = None) -> BuiltModel:
    families = family_of()
    if name not in families:
        near = difflib.get_close_matches(name, families, n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else "; `perfgraph models` lists them"
        raise ModelSourceError(f"unknown model {name!r}{hint}")
    family = families[name]
    w = weights_of(name, weights)
    h, wd = eval_size(name, w)
    kwargs: dict[str, Any] = {"weights": None}
    if name.startswith("vit_"):
        kwargs["image_size"] = h  # ViT's position embedding is sized for the weights' resolution
    if name in ("googlenet", "quantized_googlenet"):
        kwargs["aux_logits"] = False  # the published weights drop the auxiliary heads (6.6 M params)
    if name in ("googlenet", "inception_v3", "quantized_googlenet", "quantized_inception_v3"):
        kwargs["init_weights"] = False  # no slow scipy init: the values never matter here
    if family == "quantization":
        kwargs["quantize"] = False
    if family == "segmentation" and not name.startswith("lraspp"):
        kwargs["aux_loss"] = True  # the published weights (and their figures) carry the auxiliary head
    if family in ("detection", "segmentation"):  # never download a pretrained backbone
        kwargs["weights_backbone"] = None
    params = dict(params or {})
    id_params = dict(params)  # every parameter changes the model, so its id
    assumptions: dict[str, str] = {}
    two_stage = family == "detection" and "rcnn" in name
    if two_stage:
        _detector_convention(name, params, kwargs)
    elif {"proposals", "detections"} & set(params):
        raise ModelSourceError(f"-p proposals / -p detections apply to two-stage detectors (R-CNN), not {name}")
    for key, value in params.items():
        kwargs[key] = _parse(value)
        if isinstance(kwargs[key], int):
            check_int64(f"{name}: parameter {key}", kwargs[key])

    rank = 5 if family == "video" else 4
    if input_shape is not None:
        if len(input_shape) != rank:
            layout = "N,C,T,H,W" if rank == 5 else "N,C,H,W"
            raise ModelSourceError(f"{name} takes a {rank}-D input ({layout}), got {len(input_shape)} dimensions "
                                   f"in --input-shape {','.join(map(str, input_shape))}")
        shape = [batch] + list(input_shape[1:])
    elif family == "video":
        # torchvision's published video figures are for 16-frame clips.
        frames = max(int(w.meta.get("min_temporal_size", 1) or 1), _VIDEO_FRAMES)
        shape = [batch, 3, frames, h, wd]
    else:
        shape = [batch, 3, h, wd]

    def make_model() -> torch.nn.Module:
        model = torchvision.models.get_model(name, **kwargs)
        if name in _FROZEN_BN_WHEN_TRAINED:
            _freeze_batch_norms(model.backbone)
            assumptions["frozen_bn"] = ("backbone BatchNorm frozen, as in the trained weights: its scale and "
                                        "shift count as buffers, not parameters")
        if two_stage:
            assumptions["proposals"] = (
                f"NMS keeps every box (a stated worst case, not what random weights let through): "
                f"{model.rpn._post_nms_top_n['testing']} proposals and {model.roi_heads.detections_per_img} "
                "detections per image (-p proposals=N, -p detections=N)")
        elif family == "detection":
            assumptions["nms"] = "NMS keeps every box (a stated worst case; it does not change the MACs)"
        return model

    def make_inputs(device: torch.device, dtype: torch.dtype) -> tuple[Any, ...]:
        if family == "detection":
            return ([torch.rand(shape[1:], device=device, dtype=dtype) for _ in range(shape[0])],)
        if family == "optical_flow":
            return (torch.rand(shape, device=device, dtype=dtype), torch.rand(shape, device=device, dtype=dtype))
        return (torch.rand(shape, device=device, dtype=dtype),)

    published = {}
    if "_ops" in w.meta:
        published["macs"] = round(float(w.meta["_ops"]) * 1e9)
    if "num_params" in w.meta:
        published["params"] = int(w.meta["num_params"])
    options = {"weights": w.name} if weights else {}
    options.update({k: str(v) for k, v in sorted(id_params.items())})
    overrides = {"nms": _nms_keeps_every_box} if family == "detection" else {}
    return BuiltModel(name=name, source="torchvision", build=make_model, make_inputs=make_inputs,
                      input_shape=shape, batch=batch, published=published, options=options, family=family,
                      assumptions=assumptions, output_overrides=overrides)


# Builders that use FrozenBatchNorm2d in the backbone whenever weights are loaded (torchvision's
# `norm_layer = FrozenBatchNorm2d if is_trained else nn.BatchNorm2d`); the published parameter counts are
# of those trained models.
_FROZEN_BN_WHEN_TRAINED = {
    "fasterrcnn_resnet50_fpn", "fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_mobilenet_v3_large_320_fpn",
    "maskrcnn_resnet50_fpn", "keypointrcnn_resnet50_fpn", "retinanet_resnet50_fpn", "fcos_resnet50_fpn",
}


def _freeze_batch_norms(module: torch.nn.Module) -> None:
    from torchvision.ops.misc import FrozenBatchNorm2d

    for child_name, child in module.named_children():
        if type(child) is torch.nn.BatchNorm2d:
            setattr(module, child_name, FrozenBatchNorm2d(child.num_features, eps=child.eps))
        else:
            _freeze_batch_norms(child)


def _detector_convention(name: str, params: dict[str, str], kwargs: dict[str, Any]) -> None:
    """Two-stage detectors: the box head runs once per proposal and the mask/keypoint head once per
    detection, so their MACs follow how many boxes survive NMS and the score threshold. With random weights
    that is chance; the convention here is the configured maximum: no score threshold, and NMS keeps every
    box (`_nms_keeps_every_box`), so there are exactly `proposals` proposals and `detections` detections."""
    kwargs["box_score_thresh"] = 0.0
    kwargs["rpn_score_thresh"] = 0.0
    for key, target in (("proposals", ("rpn_pre_nms_top_n_test", "rpn_post_nms_top_n_test")),
                        ("detections", ("box_detections_per_img",))):
        if key in params:
            raw = params.pop(key)
            value = _parse(raw)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ModelSourceError(f"{name}: -p {key}={raw!r} must be a positive integer")
            for t in target:
                kwargs[t] = value


def _nms_keeps_every_box(args: tuple, out: Any) -> Any:
    """torchvision.nms returns the kept boxes' indices by decreasing score: here, every box's."""
    return torch.argsort(args[1], descending=True, stable=True)


def _parse(value: str) -> Any:
    for cast in (int, float):
        try:
            return cast(value)
        except (TypeError, ValueError):
            pass
    return {"true": True, "false": False}.get(str(value).lower(), value)
