"""The calibration profile's file format (`engine.calibration_profile`): a written profile loads back
unchanged, and a corrupt or hand-edited one fails with one line naming the bad field by its path."""

from __future__ import annotations

import copy
import json

import pytest

from perfgraph.engine.calibration_profile import CalibrationProfile, parse_profile
from perfgraph.engine.calibration_table import CalibrationError, Table


def small_profile() -> CalibrationProfile:
    gemm = Table("gemm", ["M", "N", "K"], [1.0, 1.0, 1.0], "flops")
    for e in (0, 4, 8):
        gemm.add([e, e, e], 2.0 * 8 ** e, 1e-6 + 2.0 * 8 ** e / 1e11, 0.01, f"gemm {2 ** e}")
    relu = Table("relu_", ["elems"], [1.0], "bytes")
    relu.add([10], 8192, 2e-6, 0.02, "relu_ 1024")
    return CalibrationProfile(
        device={"kind": "cpu", "name": "test cpu", "threads": 2, "conv_im2col_max_input": 20480},
        overhead={"dispatch_s": 2e-6, "view_s": 5e-7, "module_extra_s": {"conv": 4e-6},
                  "sequence_fit": {"networks": [{"ops": 3}]}},
        bandwidth={"copy": [[16384.0, 6e10], [2.0 ** 28, 2e10]]},
        levels=[{"name": "L2", "kind": "cache", "capacity_bytes": 2 ** 20, "copy_bytes_per_s": 4e10},
                {"name": "DRAM", "kind": "dram", "capacity_bytes": 2 ** 34, "copy_bytes_per_s": 2e10}],
        tables={"fp32": {"gemm": gemm, "relu_": relu}}, anchors={"compute": 1e-3},
        created="2025-01-01T00:00:00+00:00", duration_s=1.0, source="calibrated: test",
    )


def _write(tmp_path, doc) -> str:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(doc, indent=1))
    return str(path)


def test_a_saved_profile_loads_back_and_saves_the_same_bytes(tmp_path):
    prof = small_profile()
    path = prof.save(tmp_path / "p.json")
    back = CalibrationProfile.load(path)
    assert back == prof
    again = back.save(tmp_path / "q.json")
    assert again.read_text() == path.read_text()


def test_points_without_noise_and_label_still_load():
    doc = small_profile().to_dict()
    doc["tables"]["fp32"]["gemm"]["points"] = [row[:3] for row in doc["tables"]["fp32"]["gemm"]["points"]]
    prof = CalibrationProfile.from_dict(doc)
    assert [p.noise for p in prof.tables["fp32"]["gemm"].points] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("edit, field", [
    (lambda d: d["tables"]["fp32"]["gemm"]["points"][1].__setitem__(2, "fast"), "tables.fp32.gemm.points.1.t"),
    (lambda d: d["tables"]["fp32"]["gemm"]["points"][0].__setitem__(1, -5), "tables.fp32.gemm.points.0.work"),
    (lambda d: d["tables"]["fp32"]["relu_"].__setitem__("work", "seconds"), "tables.fp32.relu_.work"),
    (lambda d: d["tables"]["fp32"]["gemm"]["points"].__setitem__(2, [[1, 2, 3]]), "tables.fp32.gemm.points.2"),
    (lambda d: d["overhead"].__setitem__("dispatch_s", -1e-6), "overhead.dispatch_s"),
    (lambda d: d["overhead"]["module_extra_s"].__setitem__("conv", "slow"), "overhead.module_extra_s.conv"),
    (lambda d: d["bandwidth"]["copy"][1].append(3.0), "bandwidth.copy.1"),
    (lambda d: d["levels"][0].pop("capacity_bytes"), "levels.0.capacity_bytes"),
    (lambda d: d["device"].__setitem__("threads", 0), "device.threads"),
    (lambda d: d.__setitem__("overheads", {}), "overheads"),
])
def test_a_bad_field_is_named_by_its_path_in_one_line(tmp_path, edit, field):
    doc = small_profile().to_dict()
    edit(doc)
    path = _write(tmp_path, doc)
    with pytest.raises(CalibrationError) as exc:
        CalibrationProfile.load(path)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(f"invalid calibration profile {path}: {field}: "), msg
    assert "Traceback" not in msg


def test_a_table_whose_points_do_not_match_its_features_is_rejected():
    doc = small_profile().to_dict()
    doc["tables"]["fp32"]["gemm"]["points"][2][0] = [1.0, 2.0]
    with pytest.raises(CalibrationError, match=r"tables\.fp32\.gemm: .*point 2 has 2 feature values, the table 3"):
        CalibrationProfile.from_dict(doc)
    doc = small_profile().to_dict()
    doc["tables"]["fp32"]["gemm"]["scales"] = [1.0]
    with pytest.raises(CalibrationError, match=r"tables\.fp32\.gemm: .*1 scales for 3 features"):
        CalibrationProfile.from_dict(doc)


def test_many_bad_fields_are_counted_not_all_listed():
    doc = small_profile().to_dict()
    rows = doc["tables"]["fp32"]["gemm"]["points"]
    rows += copy.deepcopy(rows) + copy.deepcopy(rows[:2])  # 8 points
    for row in rows:
        row[2] = None
    with pytest.raises(CalibrationError) as exc:
        parse_profile(doc)
    msg = str(exc.value)
    assert msg.count(": Input should be a valid number") == 5 and "(and 3 more)" in msg


def test_the_version_and_the_shape_are_checked_before_the_fields():
    doc = small_profile().to_dict()
    with pytest.raises(CalibrationError, match="version 2, expected 1"):
        CalibrationProfile.from_dict(dict(doc, version=2))
    with pytest.raises(CalibrationError, match="not a perfgraph calibration profile"):
        CalibrationProfile.from_dict([doc])
    bad = copy.deepcopy(doc)
    bad["tables"]["fp32"]["gemm"]["points"][0][2] = "x"
    with pytest.raises(CalibrationError, match="invalid calibration profile: tables.fp32.gemm.points.0.t"):
        CalibrationProfile.from_dict(bad)
