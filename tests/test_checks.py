"""Validation framework: universal checks, corrupted graphs failing the right check, family profiles.

The universal checks run over the WHOLE torchvision classification zoo (80 models, analysis on meta
tensors, about 40-60 s on this 2-core machine). RegNets used to fall back to real tensors (their builder
computes block widths with tensor ops); weights now go to meta as they are registered, so they are as cheap
as the rest.
"""

from __future__ import annotations

import copy
import math

import pytest
import torchvision
from click.testing import CliRunner

from perfgraph.analysis import analyze_graph
from perfgraph.checks import (FAMILIES, FAIL, PASS, SKIP, UNIVERSAL, detect_family, family_checks, run_checks,
                              universal_checks)

FAMILY_MEMBERS = ["resnet18", "resnet34", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
                  "efficientnet_b0", "efficientnet_b1", "vgg11", "vgg16", "vit_b_16", "vit_b_32", "convnext_tiny",
                  "convnext_small"]

_CACHE: dict = {}


def graph(name: str, **kw):
    key = (name, repr(sorted(kw.items())))
    if key not in _CACHE:
        _CACHE[key] = analyze_graph(name, **kw)
    return _CACHE[key]


def _zoo() -> list[str]:
    from perfgraph.ingest.torchvision_models import list_names

    return list_names("classification")


def _status(results, name: str) -> str:
    return next(r.status for r in results if r.name == name)


# ------------------------------------------------------------------------------------------------------
# universal checks
# ------------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", _zoo())
def test_universal_checks_hold_across_the_zoo(name):
    # Family members are cached for the profile tests below; the rest are not (the zoo would hold every
    # graph in memory).
    mg = graph(name) if name in FAMILY_MEMBERS else analyze_graph(name)
    results = universal_checks(mg)
    assert [r.name for r in results] == list(UNIVERSAL)
    failed = [(r.name, r.measured, r.detail) for r in results if r.status != PASS]
    assert not failed, failed


@pytest.mark.parametrize("name,params", [
    ("synthetic:mlp", {"widths": "256:64:10"}),
    ("synthetic:resnet_basic", {"stride": "2", "size": "28"}),
    ("synthetic:resnet_bottleneck", {"size": "14"}),
    ("synthetic:conv_stack", {"groups": "64", "depth": "3"}),
    ("synthetic:transformer_encoder", {"hidden": "128", "heads": "4", "layers": "2"}),
    ("synthetic:attention", {"hidden": "128", "heads": "4"}),
])
def test_universal_checks_hold_on_synthetic_workloads(name, params):
    report = run_checks(graph(name, params=params))
    assert report.family is None
    assert report.passed, [(r.name, r.detail) for r in report.failures]


@pytest.fixture
def small():
    """A fresh copy of a graph with a fork and a join (strided basic block: shortcut beside the main path)."""
    mg = graph("synthetic:resnet_basic", params={"stride": "2", "size": "16", "channels": "8"})
    assert len(mg.subgraphs) >= 3 and mg.subgraph_edges
    return copy.deepcopy(mg)


def _failing(mg) -> set[str]:
    return {r.name for r in universal_checks(mg) if r.status == FAIL}


def test_the_uncorrupted_copy_passes(small):
    assert _failing(small) == set()


def test_a_cycle_fails_dag(small):
    src, dst, _ = small.subgraph_edges[0]
    small.subgraph_edges.append((dst, src, 4))  # the reverse of an existing edge
    failing = _failing(small)
    assert "dag" in failing
    assert "stages" in failing  # the back edge also breaks stage = 1 + max(pred stage)
    detail = next(r.detail for r in universal_checks(small) if r.name == "dag")
    assert detail.startswith("cycle ")


def test_a_nan_fails_finite(small):
    small.ops[0].flops = math.nan
    assert "finite" in _failing(small)


def test_a_negative_byte_count_fails_finite(small):
    small.subgraph_edges[0] = (*small.subgraph_edges[0][:2], -1)
    assert _failing(small) == {"finite"}


def test_macs_not_conserved_fails_conservation(small):
    conv = next(op for op in small.ops if op.kind == "conv")
    conv.macs += 1
    assert _failing(small) == {"conservation"}


def test_subgraph_flops_not_matching_its_ops_fails_conservation(small):
    a, b = small.subgraphs[0], small.subgraphs[1]
    a.flops += 10
    b.flops -= 10  # totals still agree: only the per-subgraph comparison sees it
    a.intensity = a.flops / a.external_bytes
    b.intensity = b.flops / b.external_bytes
    assert _failing(small) == {"conservation"}


def test_an_op_in_two_subgraphs_fails_partition(small):
    small.subgraphs[1].op_indices.append(small.subgraphs[0].op_indices[0])
    assert "partition" in _failing(small)


def test_an_op_in_no_subgraph_fails_partition(small):
    small.subgraphs[0].op_indices.pop()
    assert "partition" in _failing(small)


def test_external_bytes_above_the_ops_bytes_fails_bytes(small):
    sg = small.subgraphs[0]
    extra = sum(small.ops[i].bytes_total for i in sg.op_indices)
    sg.external_bytes += extra
    sg.input_bytes += extra
    sg.intensity = sg.flops / sg.external_bytes
    assert _failing(small) == {"bytes"}


def test_a_wrong_stage_fails_stages(small):
    small.subgraphs[-1].stage += 1
    assert _failing(small) == {"stages"}


def test_a_wrong_intensity_fails_intensity(small):
    small.subgraphs[0].intensity *= 2
    assert _failing(small) == {"intensity"}


def test_an_uncosted_op_marked_costed_fails_costed(small):
    op = next(op for op in small.ops if op.kind == "elementwise")
    op.kind = "other"
    assert _failing(small) == {"costed"}


def test_a_mac_op_silently_costed_zero_fails_costed(small):
    conv = next(op for op in small.ops if op.kind == "conv")
    sg = next(s for s in small.subgraphs if conv.index in s.op_indices)
    for obj in (small.info, sg):
        obj.macs -= conv.macs
        obj.flops -= conv.flops
    sg.intensity = sg.flops / sg.external_bytes
    conv.macs = conv.flops = 0
    assert _failing(small) == {"costed"}


def test_a_check_that_raises_fails_with_the_exception(small):
    small.subgraphs[0].op_indices.append(10_000)  # points outside the op list
    results = universal_checks(small)
    assert _status(results, "partition") == FAIL
    assert all(r.status in (PASS, FAIL) for r in results)


# ------------------------------------------------------------------------------------------------------
# family profiles
# ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FAMILY_MEMBERS)
def test_family_profiles_pass_on_their_members(name):
    report = run_checks(graph(name))
    assert report.family == detect_family(name) and report.family
    statuses = {r.name: r.status for r in report.results if r.group == report.family}
    assert set(statuses) == {"macs", "params", "depth", "conv_share", "work_share", "depthwise", "activations",
                             "intensity"}
    assert all(s == PASS for s in statuses.values()), [(r.name, r.measured, r.expected) for r in report.results
                                                        if r.status != PASS]
    assert all(r.source for r in report.results if r.group != "universal"), "every family range has a source"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_member_figures_are_torchvisions(family):
    """The published MACs and parameter counts in the profiles are exactly the installed torchvision's."""
    from perfgraph.ingest.torchvision_models import eval_size

    for name, member in FAMILIES[family].members.items():
        weights = torchvision.models.get_model_weights(name).DEFAULT
        assert member.params == weights.meta["num_params"], name
        assert member.macs == pytest.approx(float(weights.meta["_ops"]) * 1e9, abs=1), name
        assert member.crop == eval_size(name, weights)[0], name
        assert detect_family(name) == family


def test_detect_family():
    assert detect_family("resnet50") == "resnet"
    assert detect_family("torchvision:vgg16_bn") == "vgg"
    assert detect_family("resnext50_32x4d") is None
    assert detect_family("efficientnet_v2_s") is None
    assert detect_family("synthetic:mlp") is None


def test_the_wrong_family_fails_with_the_measured_value():
    mg = graph("mobilenet_v2")
    results = family_checks(mg, "resnet")
    assert _status(results, "depthwise") == FAIL
    assert _status(results, "activations") == FAIL  # relu6, not relu
    assert _status(results, "intensity") == FAIL  # 9.3 FLOP/B, far below a dense CNN
    assert _status(results, "published") == SKIP  # mobilenet_v2 has no ResNet figures
    results = family_checks(graph("vit_b_16"), "convnext")
    assert _status(results, "depthwise") == FAIL  # ConvNeXt has 7x7 depthwise convs, ViT none
    results = family_checks(graph("resnet18"), "vit")
    assert _status(results, "conv_share") == FAIL  # 0.9997 of the MACs in convs; ViT: < 0.05
    assert _status(results, "activations") == FAIL


def test_input_dependent_ranges_are_skipped_with_the_reason():
    results = family_checks(graph("resnet18", batch=2), "resnet")
    assert _status(results, "macs") == PASS  # per sample
    intensity = next(r for r in results if r.name == "intensity")
    assert intensity.status == SKIP and "batch 1" in intensity.detail
    results = family_checks(graph("resnet18", input_shape=[1, 3, 160, 160]), "resnet")
    assert _status(results, "macs") == SKIP
    assert _status(results, "params") == PASS
    assert _status(results, "depth") == PASS


def test_unknown_family_is_one_clear_error():
    with pytest.raises(ValueError, match="unknown family"):
        run_checks(graph("resnet18"), "alexnet")


# ------------------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------------------


def test_cli_check_passes_and_prints_measured_values():
    from perfgraph.cli.main import cli

    res = CliRunner().invoke(cli, ["check", "resnet18"])
    assert res.exit_code == 0, res.output
    assert "family resnet (detected from the name)" in res.output
    assert "1.814 G/sample" in res.output
    assert "all checks pass" in res.output


def test_cli_check_fails_with_exit_1_and_json():
    import json

    from perfgraph.cli.main import cli

    res = CliRunner().invoke(cli, ["check", "mobilenet_v2", "--family", "resnet", "--json"])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["passed"] is False and doc["family"] == "resnet"
    failed = {c["name"] for c in doc["checks"] if c["status"] == "fail"}
    assert {"depthwise", "activations"} <= failed
    assert res.stderr.strip().startswith("error: ") and len(res.stderr.strip().splitlines()) == 1


def test_cli_check_family_none_runs_universal_checks_only():
    from perfgraph.cli.main import cli

    res = CliRunner().invoke(cli, ["check", "synthetic:mlp", "--family", "none", "--json"])
    assert res.exit_code == 0, res.output
    import json

    doc = json.loads(res.stdout)
    assert {c["group"] for c in doc["checks"]} == {"universal"}
