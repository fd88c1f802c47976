"""On-chip capacity (issue #18): the Edge TPU against Coral's published table, the KPU against its sources.

Edge TPU: every published figure is Coral's "Time per inference, in milliseconds" table (Edge TPU
performance benchmarks, https://coral.ai/docs/edgetpu/benchmarks/), int8 TensorFlow Lite models compiled
for the Edge TPU, batch 1, "the time required to execute the model only" (no input pre-processing), C++
benchmark.  Two columns: the USB Accelerator (USB 3.0) on a desktop CPU, and the Dev Board (the Edge TPU on
the Coral SoM).  Predicted: the torchvision model traced at batch 1 and the table's input size, mapped with
`map_model(..., "int8")` onto `edge-tpu` (whose host link is the M.2 / Mini PCIe card's PCIe Gen2 x1,
500 MB/s, from its YAML).  Nothing was fitted to these rows; mismatches of architecture are listed per row
(torchvision has no MobileNet v1, Inception v4 or EfficientNet-EdgeTPU, so those rows are left out).

KPU: Stillwater publishes no measured latency; the YAML's sources (branes-ai/graphs resource models) give
the tile count, the 256 KiB L3 per tile, the DRAM bandwidth and the peaks.  Each row checks the prediction
against those figures: the on-chip store (tiles x L3), whether the model fits, what streams over DRAM per
inference, and the two floors a correct mapping can never beat -- streamed bytes / DRAM bandwidth and
FLOPs / peak.

Usage: .venv/bin/python benchmarks/bench_onchip.py [--json]
"""

from __future__ import annotations

import json
import sys

CORAL = "https://coral.ai/docs/edgetpu/benchmarks/ (Table 1, time per inference, ms)"

# (Coral row, torchvision model, input H=W, USB 3.0 ms, Dev Board ms, caveat)
EDGE_ROWS = [
    ("Inception v1 (224x224)", "googlenet", 224, 3.4, 4.1, "torchvision GoogLeNet = Inception v1"),
    ("MobileNet v2 (224x224)", "mobilenet_v2", 224, 2.6, 2.6, ""),
    ("ResNet-50 V1 (299x299)", "resnet50", 299, 49.0, 56.0, ""),
    ("ResNet-152 V2 (299x299)", "resnet152", 299, 128.0, 151.0, "torchvision ResNet-152 is V1 (same weights size)"),
    ("DenseNet (224x224)", "densenet121", 224, 20.0, 25.0, "Coral does not name the DenseNet variant; 121 assumed"),
    ("SqueezeNet (224x224)", "squeezenet1_0", 224, 2.1, 2.0, "Coral does not name the SqueezeNet version; 1.0 assumed"),
    ("VGG16 (224x224)", "vgg16", 224, 296.0, 343.0, ""),
    ("VGG19 (224x224)", "vgg19", 224, 308.0, 357.0, ""),
]

KPU_MODELS = ("resnet18", "resnet50", "mobilenet_v2")
KPU_CHIPS = ("kpu-t64", "kpu-t256", "kpu-t768")


def _trace(model: str, size: int):
    from perfgraph.pipeline import ModelSpec, analyze

    return analyze(ModelSpec(model, batch=1, input_shape=[1, 3, size, size], tracer="meta"))


def edge_rows() -> list[dict]:
    from perfgraph.engine.explain import onchip_line
    from perfgraph.pipeline import map_model
    from perfgraph.hardware.spec import get

    hw = get("edge-tpu")
    rows = []
    for coral, model, size, usb, dev, caveat in EDGE_ROWS:
        mm = map_model(_trace(model, size), hw, "int8")
        pred = mm.latency_s * 1e3
        rows.append({"coral_row": coral, "model": model, "input": size, "predicted_ms": pred,
                     "published_usb3_ms": usb, "published_devboard_ms": dev,
                     "ratio_usb3": pred / usb, "ratio_devboard": pred / dev,
                     "fits_on_chip": mm.placement["fits_on_chip"],
                     "streamed_mb": mm.placement["streamed_bytes"] / 1e6, "onchip": onchip_line(mm.placement, 1),
                     "caveat": caveat, "source": CORAL})
    return rows


def kpu_rows() -> list[dict]:
    from perfgraph.pipeline import map_model
    from perfgraph.hardware.spec import get

    rows = []
    for chip in KPU_CHIPS:
        hw = get(chip)
        for model in KPU_MODELS:
            mm = map_model(_trace(model, 224), hw, "int8")
            p = mm.placement
            dram_floor = p["streamed_bytes"] / hw.dram_bandwidth
            compute_floor = mm.total_flops / hw.peak("int8")
            rows.append({
                "chip": chip, "model": model, "store": p["store"], "store_mb": p["store_capacity_bytes"] / 1e6,
                "weights_mb": p["weights_bytes"] / 1e6, "fits_on_chip": p["fits_on_chip"],
                "streamed_mb": p["streamed_bytes"] / 1e6, "predicted_ms": mm.latency_s * 1e3,
                "dram_floor_ms": dram_floor * 1e3, "compute_floor_ms": compute_floor * 1e3,
                "above_floors": mm.latency_s >= max(dram_floor, compute_floor),
                "source": hw.source_of("compute_units.count") or "",
            })
    return rows


def main() -> None:
    edge, kpu = edge_rows(), kpu_rows()
    if "--json" in sys.argv:
        print(json.dumps({"edge_tpu": edge, "kpu": kpu}, indent=2))
        return
    print(f"Edge TPU (int8, batch 1) vs Coral's published table: {CORAL}")
    print(f"{'Coral row':26} {'model':14} {'pred ms':>8} {'USB3 ms':>8} {'x':>6} {'DevBd ms':>8} {'x':>6}  on chip")
    for r in edge:
        print(f"{r['coral_row']:26} {r['model']:14} {r['predicted_ms']:8.2f} {r['published_usb3_ms']:8.1f} "
              f"{r['ratio_usb3']:6.2f} {r['published_devboard_ms']:8.1f} {r['ratio_devboard']:6.2f}  {r['onchip']}")
    for r in edge:
        if r["caveat"]:
            print(f"  note: {r['coral_row']}: {r['caveat']}")
    print("\nKPU (int8, batch 1, compiled) against its sources (no measured figure is published):")
    print(f"{'chip':9} {'model':13} {'store':>10} {'weights':>8} {'fits':>5} {'streams':>8} {'pred ms':>8} "
          f"{'DRAM floor':>10} {'FLOP floor':>10} ok")
    for r in kpu:
        print(f"{r['chip']:9} {r['model']:13} {r['store_mb']:7.1f} MB {r['weights_mb']:5.1f} MB "
              f"{'yes' if r['fits_on_chip'] else 'no':>5} {r['streamed_mb']:5.2f} MB {r['predicted_ms']:8.3f} "
              f"{r['dram_floor_ms']:10.3f} {r['compute_floor_ms']:10.3f} {'yes' if r['above_floors'] else 'NO'}")
    for chip in KPU_CHIPS:
        print(f"  source ({chip}): {next(r['source'] for r in kpu if r['chip'] == chip)}")


if __name__ == "__main__":
    main()
