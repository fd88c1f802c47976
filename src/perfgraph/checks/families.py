"""**Family profiles** (`FAMILIES`) hold for the members of one architecture family at batch 1, at the
weight's eval crop: MACs and parameters per member (torchvision's weight metadata, which
``shared/design.md`` says to compare against, with the original paper's figure alongside), depth from the
published layer counts, the share of MACs in convolutions, depthwise convs present or absent, the
activation functions, the share of FLOPs done by MAC ops, and a model-intensity range. Each range carries
its source string. Figures that depend on the input (MACs, depth under a different crop, intensity at a
batch > 1 or another dtype) are skipped, with the reason, when the graph was traced differently.

`perfgraph.checks.family_checks` checks a graph against these figures.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

TV = "torchvision 0.29 weight metadata (docs.pytorch.org/vision/stable/models), DEFAULT weights"


@dataclass(frozen=True)
class Member:
    """Published figures of one family member at its eval crop."""

    macs: float  # conv + matmul MACs per sample (torchvision's "GFLOPS")
    params: int
    crop: int  # eval crop the MACs refer to
    depth: int  # expected stages, derived from published layer counts
    depth_source: str
    paper: str  # the original paper's figures, for the source string
    activations: tuple[str, ...] | None = None  # overrides the family's, where a member differs


@dataclass(frozen=True)
class Range:
    lo: float
    hi: float
    source: str

    def contains(self, x: float) -> bool:
        return self.lo <= x <= self.hi


@dataclass(frozen=True)
class FamilyProfile:
    name: str
    pattern: str  # regex on the model name for --family auto
    members: dict[str, Member]
    conv_share: Range  # conv MACs / all MACs
    work_share: Range  # FLOPs in conv/matmul/attention ops (2 x MACs) / all FLOPs
    intensity: Range  # model FLOP/B at batch 1, fp32, eval crop
    depthwise: bool  # depthwise convs present (True) or absent (False)
    depthwise_source: str
    activations: tuple[str, ...]  # activation functions that must appear
    gates: tuple[str, ...]  # others allowed (e.g. sigmoid gates of squeeze-excite)
    activations_source: str


# Activation ops (aten base names, in-place suffix stripped) and the name they go by; ReLU6 is hardtanh(0, 6).
ACTIVATION_OPS = {"relu": "relu", "hardtanh": "relu6", "hardswish": "hardswish", "silu": "silu", "gelu": "gelu",
                  "sigmoid": "sigmoid", "hardsigmoid": "hardsigmoid", "leaky_relu": "leaky_relu", "elu": "elu",
                  "mish": "mish", "tanh": "tanh", "prelu": "prelu", "celu": "celu", "selu": "selu"}

_MEASURED = "perfgraph measurement, batch 1, fp32, eval crop"


def _resnet(n: int, macs: float, params: int, paper_g: float) -> Member:
    v15 = (" for v1; torchvision's is v1.5 (stride on the 3x3 conv of the bottleneck), hence more MACs"
           if n >= 50 else "")
    return Member(macs, params, 224, n, f"He et al. 2015 Table 1: ResNet-{n} has {n} weighted layers on its main "
                                         "path; one fused kernel (conv+bn+relu, pooling joined) per layer",
                  f"He et al. 2015 Table 1: {paper_g}e9 FLOPs (multiply-adds){v15}")


def _vgg(n: int, bn: bool, macs: float, params: int, paper_m: int) -> Member:
    return Member(macs, params, 224, n + 1,
                  f"Simonyan & Zisserman 2014 Table 1: VGG-{n} has {n} weight layers (13 conv + 3 FC for VGG-16), "
                  "one kernel each, plus the adaptive average pool",
                  f"Simonyan & Zisserman 2014 Table 2: {paper_m} M parameters" + (" (without batch norm)" if bn else ""))


def _effnet_depth(repeats: list[int]) -> int:
    # stem + MBConv blocks (2 weight layers when expansion 1, i.e. stage 1; else 3) + head conv + FC,
    # plus 3 dependent kernels per squeeze-excite (pool, FC+act, FC+sigmoid; every block has one).
    blocks = sum(repeats)
    return 1 + 2 * repeats[0] + 3 * (blocks - repeats[0]) + 2 + 3 * blocks


def _effnet(k: int, macs: float, params: int, crop: int, paper: str, depth_coef: float) -> Member:
    base = [1, 2, 2, 3, 3, 4, 1]
    repeats = [math.ceil(r * depth_coef) for r in base]
    d = _effnet_depth(repeats)
    return Member(macs, params, crop, d,
                  f"Tan & Le 2019 Table 1 (B0 stage repeats {base}) x depth coefficient {depth_coef} (the "
                  f"reference implementation's, as in torchvision), rounded up -> "
                  f"{sum(repeats)} MBConv blocks with squeeze-excite: weight layers + 3 kernels per SE = {d}",
                  f"Tan & Le 2019 Table 2: EfficientNet-B{k} {paper}")


def _vit(layers: int, macs: float, params: int, crop: int, paper: str) -> Member:
    return Member(macs, params, crop, 9 * layers + 3,
                  f"Dosovitskiy et al. 2020 Table 1: {layers} encoder layers; 9 dependent kernels per layer (LN, "
                  "QKV, scale, QK^T+softmax, PV, out-proj+residual, LN, fc1+GELU, fc2+residual) + patch embedding, "
                  "class token, head",
                  paper)


def _convnext(blocks: tuple[int, ...], macs: float, params: int, paper: str) -> Member:
    n = sum(blocks)
    return Member(macs, params, 224, 3 * n + 6,
                  f"Liu et al. 2022 §2.2: stage blocks {blocks} = {n} blocks; 3 dependent kernels per block "
                  "(dwconv7x7+LN, Linear+GELU, Linear+scale+residual) + stem, 3 downsamplers, head",
                  paper)


FAMILIES: dict[str, FamilyProfile] = {
    "resnet": FamilyProfile(
        name="resnet",
        pattern=r"^resnet(18|34|50|101|152)$",
        members={
            "resnet18": _resnet(18, 1.814e9, 11_689_512, 1.8),
            "resnet34": _resnet(34, 3.664e9, 21_797_672, 3.6),
            "resnet50": _resnet(50, 4.089e9, 25_557_032, 3.8),
            "resnet101": _resnet(101, 7.801e9, 44_549_160, 7.6),
            "resnet152": _resnet(152, 11.514e9, 60_192_808, 11.3),
        },
        conv_share=Range(0.99, 1.0, "He et al. 2015 §3.4: every layer is a conv except the final 1000-way FC "
                                    "(0.5-2 M MACs of 1.8-11.5 G)"),
        work_share=Range(0.98, 1.0, f"batch norm (4 FLOPs) + ReLU (1) per activation element against k²·C_in MACs "
                                    f"per output element; {_MEASURED}: 0.9925-0.997"),
        intensity=Range(20.0, 125.0, f"{_MEASURED}: resnet18-152 span 39.5-61.8 FLOP/B; range = 0.5x min .. 2x max"),
        depthwise=False,
        depthwise_source="He et al. 2015: dense 3x3 and 1x1 convolutions only",
        activations=("relu",), gates=(),
        activations_source="He et al. 2015 §3.2: ReLU after each BN and after each residual addition",
    ),
    "mobilenet": FamilyProfile(
        name="mobilenet",
        pattern=r"^mobilenet_v(2|3_large|3_small)$",
        members={
            "mobilenet_v2": Member(0.301e9, 3_504_872, 224, 53,
                                   "Sandler et al. 2018 Table 2: 53 weight layers (stem, 17 bottlenecks, 1x1 conv, FC); "
                                   "one kernel each",
                                   "Sandler et al. 2018 Table 4: 300 M MAdds, 3.4 M parameters",
                                   activations=("relu6",)),
            "mobilenet_v3_large": Member(0.217e9, 5_483_032, 224, 72,
                                         "Howard et al. 2019 Table 1: 48 weight layers + 3 kernels for each of 8 "
                                         "squeeze-excite blocks = 72",
                                         "Howard et al. 2019 Table 3: 219 M MAdds, 5.4 M parameters",
                                         activations=("hardswish", "relu")),
            "mobilenet_v3_small": Member(0.057e9, 2_542_856, 224, 63,
                                         "Howard et al. 2019 Table 2: 36 weight layers + 3 kernels for each of 9 "
                                         "squeeze-excite blocks = 63",
                                         "Howard et al. 2019 Table 3: 56 M MAdds, 2.5 M parameters",
                                         activations=("hardswish", "relu")),
        },
        conv_share=Range(0.95, 1.0, "Sandler et al. 2018 Table 2 / Howard et al. 2019 Tables 1-2: all layers are "
                                    "convs but the classifier (1.3-1.6 M MACs of 57-301 M)"),
        work_share=Range(0.90, 1.0, f"depthwise 3x3 convs do 9 MACs per element while BN + ReLU6 add 5 FLOPs; "
                                    f"{_MEASURED}: 0.937-0.949"),
        intensity=Range(2.3, 19.0, f"{_MEASURED}: members span 4.7-9.3 FLOP/B (depthwise-separable convs reuse "
                                   "little data, Sandler et al. 2018 §5); range = 0.5x min .. 2x max"),
        depthwise=True,
        depthwise_source="Sandler et al. 2018 §3.1 / Howard et al. 2019 §5: depthwise-separable convolutions",
        activations=("relu6",), gates=("relu", "hardswish", "hardsigmoid"),
        activations_source="Sandler et al. 2018 §3 (ReLU6); Howard et al. 2019 §5.2 (h-swish, ReLU, hard-sigmoid "
                           "gates in squeeze-excite)",
    ),
    "efficientnet": FamilyProfile(
        name="efficientnet",
        pattern=r"^efficientnet_b[0-7]$",
        members={
            "efficientnet_b0": _effnet(0, 0.386e9, 5_288_548, 224, "0.39 B FLOPs, 5.3 M parameters", 1.0),
            "efficientnet_b1": _effnet(1, 0.687e9, 7_794_184, 240, "0.70 B FLOPs, 7.8 M parameters", 1.1),
            "efficientnet_b2": _effnet(2, 1.088e9, 9_109_994, 288, "1.0 B FLOPs, 9.2 M parameters", 1.2),
            "efficientnet_b3": _effnet(3, 1.827e9, 12_233_232, 300, "1.8 B FLOPs, 12 M parameters", 1.4),
            "efficientnet_b4": _effnet(4, 4.394e9, 19_341_616, 380, "4.2 B FLOPs, 19 M parameters", 1.8),
            "efficientnet_b5": _effnet(5, 10.266e9, 30_389_784, 456, "9.9 B FLOPs, 30 M parameters", 2.2),
            "efficientnet_b6": _effnet(6, 19.068e9, 43_040_704, 528, "19 B FLOPs, 43 M parameters", 2.6),
            "efficientnet_b7": _effnet(7, 37.746e9, 66_347_960, 600, "37 B FLOPs, 66 M parameters", 3.1),
        },
        conv_share=Range(0.98, 1.0, "Tan & Le 2019 Table 1: all layers are convs but the classifier FC"),
        work_share=Range(0.90, 1.0, f"MBConv: depthwise convs, BN, SiLU and squeeze-excite add element-wise work; "
                                    f"{_MEASURED}: 0.953-0.969 (b0-b4)"),
        intensity=Range(3.9, 30.0, f"{_MEASURED}: b0-b4 span 7.8-12.6 FLOP/B; range = 0.5x min .. 2x max (b5-b7 "
                                   "use larger crops)"),
        depthwise=True,
        depthwise_source="Tan & Le 2019 §4: MBConv blocks (depthwise convolutions, Sandler et al. 2018)",
        activations=("silu",), gates=("sigmoid",),
        activations_source="Tan & Le 2019 §4 (Swish = SiLU), squeeze-excite sigmoid gates (Hu et al. 2018)",
    ),
    "vgg": FamilyProfile(
        name="vgg",
        pattern=r"^vgg(11|13|16|19)(_bn)?$",
        members={
            "vgg11": _vgg(11, False, 7.609e9, 132_863_336, 133),
            "vgg11_bn": _vgg(11, True, 7.609e9, 132_868_840, 133),
            "vgg13": _vgg(13, False, 11.308e9, 133_047_848, 133),
            "vgg13_bn": _vgg(13, True, 11.308e9, 133_053_736, 133),
            "vgg16": _vgg(16, False, 15.47e9, 138_357_544, 138),
            "vgg16_bn": _vgg(16, True, 15.47e9, 138_365_992, 138),
            "vgg19": _vgg(19, False, 19.632e9, 143_667_240, 144),
            "vgg19_bn": _vgg(19, True, 19.632e9, 143_678_248, 144),
        },
        conv_share=Range(0.97, 1.0, "Simonyan & Zisserman 2014 Table 1: three FC layers (4096, 4096, 1000) = "
                                    "124 M MACs of 7.6-19.6 G; the rest are 3x3 convs"),
        work_share=Range(0.99, 1.0, f"3x3 convs over 64-512 channels: thousands of MACs per element against one "
                                    f"ReLU FLOP; {_MEASURED}: 0.997-0.9995"),
        intensity=Range(13.0, 120.0, f"{_MEASURED}: vgg11-19 span 27.4-59.7 FLOP/B (the 124 M FC weights, 0.5 GB, "
                                     "dominate the bytes); range = 0.5x min .. 2x max"),
        depthwise=False,
        depthwise_source="Simonyan & Zisserman 2014: dense 3x3 convolutions only",
        activations=("relu",), gates=(),
        activations_source="Simonyan & Zisserman 2014 §2.1: every hidden layer is followed by ReLU",
    ),
    "vit": FamilyProfile(
        name="vit",
        pattern=r"^vit_[blh]_(14|16|32)$",
        members={
            "vit_b_16": _vit(12, 17.564e9, 86_567_656, 224,
                             "ViT-B/16 = DeiT-B at 224: 17.5 G FLOPs (multiply-adds) in Liu et al. 2021 (Swin) "
                             "Table 1; Dosovitskiy et al. 2020 Table 1: 86 M parameters"),
            "vit_b_32": _vit(12, 4.409e9, 88_224_232, 224, "Dosovitskiy et al. 2020 Table 1: ViT-Base 86 M parameters "
                                                           "(+1.7 M for 32x32 patches)"),
            "vit_l_16": _vit(24, 61.555e9, 304_326_632, 224, "Dosovitskiy et al. 2020 Table 1: ViT-Large 307 M "
                                                             "parameters"),
            "vit_l_32": _vit(24, 15.378e9, 306_535_400, 224, "Dosovitskiy et al. 2020 Table 1: ViT-Large 307 M "
                                                             "parameters"),
            "vit_h_14": _vit(32, 1016.717e9, 633_470_440, 518, "Dosovitskiy et al. 2020 Table 1: ViT-Huge 632 M "
                                                               "parameters; SWAG weights at 518 (Singh et al. 2022)"),
        },
        conv_share=Range(0.0, 0.05, "Dosovitskiy et al. 2020 Eq. 1-4: only the patch embedding is a conv (a linear "
                                    "projection of patches); the encoder is matmuls and attention"),
        work_share=Range(0.98, 1.0, f"LayerNorm, GELU and softmax are a few FLOPs per element against hidden-size "
                                    f"MACs; {_MEASURED}: 0.998-0.999"),
        intensity=Range(10.0, 130.0, f"{_MEASURED}: b_16..l_32 span 21.4-64.2 FLOP/B; range = 0.5x min .. 2x max"),
        depthwise=False,
        depthwise_source="Dosovitskiy et al. 2020: no convolution but the patch embedding",
        activations=("gelu",), gates=(),
        activations_source="Dosovitskiy et al. 2020 §3.1: the MLP has two layers with a GELU non-linearity",
    ),
    "convnext": FamilyProfile(
        name="convnext",
        pattern=r"^convnext_(tiny|small|base|large)$",
        members={
            "convnext_tiny": _convnext((3, 3, 9, 3), 4.456e9, 28_589_128, "Liu et al. 2022 Table 1: 4.5 G FLOPs, 28 M"),
            "convnext_small": _convnext((3, 3, 27, 3), 8.684e9, 50_223_688, "Liu et al. 2022 Table 1: 8.7 G FLOPs, 50 M"),
            "convnext_base": _convnext((3, 3, 27, 3), 15.355e9, 88_591_464, "Liu et al. 2022 Table 1: 15.4 G, 89 M"),
            "convnext_large": _convnext((3, 3, 27, 3), 34.361e9, 197_767_336, "Liu et al. 2022 Table 1: 34.4 G, 198 M"),
        },
        conv_share=Range(0.005, 0.15, "Liu et al. 2022 Fig. 4: the 1x1 'pointwise' layers are Linear layers on "
                                      "channels-last tensors in torchvision's CNBlock; convs are the 4x4 stem, 7x7 "
                                      f"depthwise and 2x2 downsamplers; {_MEASURED}: 0.031-0.066"),
        work_share=Range(0.98, 1.0, f"LayerNorm, GELU and layer scale against 4x-expanded MLP MACs; {_MEASURED}: "
                                    "0.996-0.998"),
        intensity=Range(19.0, 120.0, f"{_MEASURED}: tiny-large span 38.8-59.1 FLOP/B; range = 0.5x min .. 2x max"),
        depthwise=True,
        depthwise_source="Liu et al. 2022 §2.4: 7x7 depthwise convolution in every block",
        activations=("gelu",), gates=(),
        activations_source="Liu et al. 2022 §2.5: ReLU replaced by GELU, one per block",
    ),
}

FAMILY_CHOICES = ("auto", *FAMILIES, "none")


def detect_family(name: str) -> str | None:
    """The family whose name pattern matches a model name (torchvision names), else None."""
    base = name.split(":", 1)[1] if name.startswith("torchvision:") else name
    for fam in FAMILIES.values():
        if re.match(fam.pattern, base):
            return fam.name
    return None
