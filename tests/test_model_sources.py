"""Model sources: synthetic workloads, Hugging Face configs and user factories, all built on meta."""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch

from perfgraph.ingest import hf_models, synthetic, user_models
from perfgraph.ingest.model_source import BuiltModel, ModelSourceError

META = torch.device("meta")


def _build_and_run(bm: BuiltModel, dtype: torch.dtype = torch.float32) -> tuple[torch.nn.Module, torch.Tensor]:
    with torch.device("meta"):
        module = bm.build()
    if dtype != torch.float32:
        module = module.to(dtype)
    inputs = bm.make_inputs(META, dtype)
    with torch.no_grad():
        out = module(*inputs)
    return module, out


# ------------------------------------------------------------------------------------------------------
# synthetic
# ------------------------------------------------------------------------------------------------------

SYNTHETIC_CASES = [
    # name, params, expected input shape (batch 3), expected output shape
    ("mlp", {}, [3, 1024], [3, 1024]),
    ("mlp", {"width": "64", "depth": "3", "in_features": "32", "activation": "gelu"}, [3, 32], [3, 64]),
    ("mlp", {"activation": "silu", "depth": "1"}, [3, 1024], [3, 1024]),
    ("resnet_basic", {}, [3, 64, 56, 56], [3, 64, 56, 56]),
    ("resnet_basic", {"channels": "32", "size": "15", "stride": "2"}, [3, 32, 15, 15], [3, 32, 8, 8]),
    ("resnet_bottleneck", {}, [3, 256, 56, 56], [3, 256, 56, 56]),
    ("resnet_bottleneck", {"channels": "16", "expansion": "2", "size": "7"}, [3, 32, 7, 7], [3, 32, 7, 7]),
    ("conv_stack", {}, [3, 64, 56, 56], [3, 64, 56, 56]),
    ("conv_stack", {"channels": "32", "groups": "32", "kernel": "5", "stride": "2", "depth": "2", "size": "32"},
     [3, 32, 32, 32], [3, 32, 8, 8]),
    ("transformer_encoder", {}, [3, 128, 768], [3, 128, 768]),
    ("transformer_encoder", {"hidden": "64", "heads": "4", "seq_len": "10", "mlp_ratio": "2.5", "layers": "2"},
     [3, 10, 64], [3, 10, 64]),
    ("attention", {}, [3, 128, 768], [3, 128, 768]),
    ("attention", {"hidden": "96", "heads": "3", "seq_len": "7"}, [3, 7, 96], [3, 7, 96]),
]


@pytest.mark.parametrize("name,params,in_shape,out_shape", SYNTHETIC_CASES)
def test_synthetic_builds_and_runs_on_meta(name, params, in_shape, out_shape):
    bm = synthetic.build(name, batch=3, params=params)
    assert bm.name == f"synthetic:{name}"
    assert bm.source == "synthetic"
    assert bm.batch == 3
    assert bm.input_shape == in_shape
    module, out = _build_and_run(bm)
    assert all(p.device.type == "meta" for p in module.parameters())
    assert out.device.type == "meta"
    assert list(out.shape) == out_shape


def test_synthetic_every_workload_listed_and_covered():
    listed = synthetic.list_workloads()
    assert set(listed) == {"mlp", "resnet_basic", "resnet_bottleneck", "conv_stack", "transformer_encoder", "attention"}
    assert {c[0] for c in SYNTHETIC_CASES} == set(listed)
    for name, (doc, defaults) in listed.items():
        assert defaults, name
        for param in defaults:
            assert param in doc, f"{name}: docstring does not list {param}"


def test_synthetic_fp16_inputs():
    bm = synthetic.build("transformer_encoder", batch=2, params={"hidden": "32", "heads": "2", "seq_len": "4"})
    _, out = _build_and_run(bm, torch.float16)
    assert out.dtype == torch.float16 and list(out.shape) == [2, 4, 32]


def test_synthetic_options_are_full_resolved_strings():
    a = synthetic.build("transformer_encoder", batch=1, params={"mlp_ratio": "4"})
    b = synthetic.build("transformer_encoder", batch=1, params={})
    assert a.options == b.options == {
        "hidden": "768", "heads": "12", "seq_len": "128", "mlp_ratio": "4.0", "layers": "1",
    }
    assert all(isinstance(v, str) for v in a.options.values())
    c = synthetic.build("mlp", batch=1, params={"width": "512"})
    assert c.options["width"] == "512" and c.options["activation"] == "relu"


def test_synthetic_prefix_accepted():
    assert synthetic.build("synthetic:mlp", batch=1, params={}).name == "synthetic:mlp"


@pytest.mark.parametrize(
    "name,params,fragments",
    [
        ("mlp", {"widht": "10"}, ["unknown parameter widht", "width", "depth", "in_features", "activation"]),
        ("mlp", {"width": "ten"}, ["width", "not a valid int"]),
        ("mlp", {"width": "1.5"}, ["width", "not a valid int"]),
        ("mlp", {"activation": "tanh"}, ["activation", "relu | gelu | silu"]),
        ("mlp", {"depth": "0"}, ["depth", "positive"]),
        ("transformer_encoder", {"mlp_ratio": "abc"}, ["mlp_ratio", "not a valid float"]),
        ("transformer_encoder", {"hidden": "100", "heads": "12"}, ["divisible"]),
        ("attention", {"hidden": "10", "heads": "4"}, ["divisible"]),
        ("conv_stack", {"channels": "10", "groups": "4"}, ["groups"]),
        ("nope", {}, ["unknown synthetic workload", "mlp"]),
    ],
)
def test_synthetic_param_errors(name, params, fragments):
    with pytest.raises(ModelSourceError) as info:
        synthetic.build(name, batch=1, params=params)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_synthetic_registry_decorator_rejects_positional_params():
    with pytest.raises(TypeError):

        @synthetic.register_workload("bad_test_workload", input_shape=lambda p: [1])
        def bad(width=3):  # not keyword-only
            return torch.nn.Identity()

    assert "bad_test_workload" not in synthetic.WORKLOADS


# ------------------------------------------------------------------------------------------------------
# Hugging Face
# ------------------------------------------------------------------------------------------------------


def test_hf_list_names():
    assert {"gpt2", "bert-base", "llama-7b", "llama"} <= set(hf_models.list_names())


@pytest.mark.parametrize(
    "name,vocab,family",
    [("gpt2", 50257, "llm"), ("bert-base", 30522, "encoder")],
)
def test_hf_small_models_on_meta(name, vocab, family):
    bm = hf_models.build(name, batch=2, params={"seq_len": "16"})
    assert bm.name == f"hf:{name}" and bm.source == "transformers" and bm.family == family
    assert bm.input_shape == [2, 16] and bm.options["seq_len"] == "16"
    (ids,) = bm.make_inputs(META, torch.float16)
    assert ids.dtype == torch.int64 and list(ids.shape) == [2, 16]
    module, out = _build_and_run(bm)
    assert isinstance(out, torch.Tensor)
    assert list(out.shape) == [2, 16, vocab]
    assert all(p.device.type == "meta" for p in module.parameters())
    assert all(b.device.type == "meta" for b in module.buffers())


def test_hf_gpt2_param_count_matches_published():
    bm = hf_models.build("gpt2", batch=1, params={})
    with torch.device("meta"):
        module = bm.build()
    assert bm.input_shape == [1, 128]
    assert sum(p.numel() for p in module.parameters()) == bm.published["params"] == 124_439_808


def test_hf_llama_7b_on_meta():
    bm = hf_models.build("llama-7b", batch=1, params={})
    assert bm.input_shape == [1, 128] and bm.family == "llm"
    with torch.device("meta"):
        module = bm.build()
    assert all(p.device.type == "meta" for p in module.parameters())
    n = sum(p.numel() for p in module.parameters())
    assert abs(n - 6.74e9) / 6.74e9 < 0.01
    cfg = module.model.config
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads, cfg.intermediate_size,
            cfg.vocab_size, cfg.rms_norm_eps) == (4096, 32, 32, 11008, 32000, 1e-5)


def test_hf_llama_generic_gqa_forward_on_meta():
    params = {
        "hidden_size": "128", "num_hidden_layers": "2", "num_attention_heads": "8", "num_key_value_heads": "2",
        "intermediate_size": "256", "vocab_size": "1000", "seq_len": "12",
    }
    bm = hf_models.build("llama", batch=3, params=params)
    assert bm.options["num_key_value_heads"] == "2" and bm.options["seq_len"] == "12"
    module, out = _build_and_run(bm)
    assert list(out.shape) == [3, 12, 1000]
    k_proj = module.model.model.layers[0].self_attn.k_proj
    assert k_proj.out_features == 2 * (128 // 8)


def test_hf_config_override_and_published_dropped():
    bm = hf_models.build("gpt2", batch=1, params={"n_layer": "2", "seq_len": "8", "layer_norm_epsilon": "1e-6"})
    assert bm.published == {}
    assert bm.options["n_layer"] == "2"
    module, out = _build_and_run(bm)
    assert module.model.config.n_layer == 2 and module.model.config.layer_norm_epsilon == 1e-6
    assert list(out.shape) == [1, 8, 50257]


@pytest.mark.parametrize(
    "name,params,fragments",
    [
        ("gpt3", {}, ["unknown hf model", "gpt2"]),
        ("gpt2", {"no_such_field": "1"}, ["unknown parameter", "no_such_field"]),
        ("gpt2", {"n_layer": "two"}, ["n_layer", "int"]),
        ("gpt2", {"n_layer": "1.5"}, ["n_layer", "int"]),
        ("gpt2", {"seq_len": "0"}, ["seq_len"]),
        ("gpt2", {"seq_len": "x"}, ["seq_len"]),
        ("gpt2", {"seq_len": "2048"}, ["n_positions"]),
        ("bert-base", {"seq_len": "1024"}, ["max_position_embeddings"]),
        ("llama", {"hidden_size": "64"}, ["needs params", "num_hidden_layers"]),
        ("llama", {"hidden_size": "100", "num_hidden_layers": "1", "num_attention_heads": "3",
                   "intermediate_size": "8"}, ["divisible"]),
        ("llama", {"hidden_size": "64", "num_hidden_layers": "1", "num_attention_heads": "8",
                   "num_key_value_heads": "3", "intermediate_size": "8"}, ["num_key_value_heads"]),
    ],
)
def test_hf_errors(name, params, fragments):
    with pytest.raises(ModelSourceError) as info:
        hf_models.build(name, batch=1, params=params)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_hf_missing_transformers(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # makes `import transformers` raise ImportError
    with pytest.raises(ModelSourceError, match=r"perfgraph\[hf\]"):
        hf_models.build("gpt2", batch=1, params={})
    assert "gpt2" in hf_models.list_names()


# ------------------------------------------------------------------------------------------------------
# user models
# ------------------------------------------------------------------------------------------------------

USER_FILE = textwrap.dedent(
    """
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self, channels, scale):
            super().__init__()
            self.conv = nn.Conv2d(3, channels, 3, padding=1)
            self.scale = scale

        def forward(self, x):
            return self.conv(x) * self.scale

    def make(channels=8, scale=1.0, tag="x"):
        assert isinstance(channels, int) and isinstance(scale, float) and isinstance(tag, str)
        return Net(channels, scale)

    def not_a_module():
        return 42

    def explodes():
        raise RuntimeError("boom")

    NOT_CALLABLE = 3
    """
)


@pytest.fixture()
def user_file(tmp_path):
    path = tmp_path / "my_model.py"
    path.write_text(USER_FILE)
    return path


def test_user_model_from_file(user_file):
    bm = user_models.build(
        f"{user_file}:make", batch=4, input_shape=[1, 3, 16, 16], params={"channels": "5", "scale": "0.5", "tag": "y"}
    )
    assert bm.source == "user" and bm.name == "user:my_model:make"
    assert bm.input_shape == [4, 3, 16, 16] and bm.batch == 4
    module, out = _build_and_run(bm)
    assert all(p.device.type == "meta" for p in module.parameters())
    assert list(out.shape) == [4, 5, 16, 16]
    # Deterministic module name: building twice reuses the same module.
    again = user_models.build(f"{user_file}:make", batch=1, input_shape=[1, 3, 8, 8], params={})
    assert again.input_shape == [1, 3, 8, 8]


def test_user_model_from_module():
    bm = user_models.build("torch.nn:Identity", batch=2, input_shape=[9, 5], params={})
    module, out = _build_and_run(bm)
    assert list(out.shape) == [2, 5]


def test_user_param_value_parsing():
    assert user_models.parse_param_value("3") == 3
    assert user_models.parse_param_value("-2") == -2
    assert user_models.parse_param_value("0.5") == 0.5
    assert user_models.parse_param_value("1e-3") == 1e-3
    assert user_models.parse_param_value("relu") == "relu"
    assert user_models.parse_param_value("1,2") == "1,2"


def _user_error(spec, *, input_shape=(1, 3, 8, 8), params=None, build=False) -> str:
    with pytest.raises(ModelSourceError) as info:
        bm = user_models.build(
            spec, batch=1, input_shape=list(input_shape) if input_shape else None, params=params or {}
        )
        if build:
            with torch.device("meta"):
                bm.build()
    message = str(info.value)
    assert "\n" not in message
    return message


def test_user_errors(user_file, tmp_path):
    assert "--input-shape is required for user models, e.g. --input-shape 1,3,224,224" in _user_error(
        f"{user_file}:make", input_shape=None
    )
    assert "positive" in _user_error(f"{user_file}:make", input_shape=(1, 0, 8))
    assert "not found" in _user_error(f"{tmp_path}/missing.py:make")
    assert "must be path/to/file.py:factory" in _user_error(str(user_file))
    msg = _user_error(f"{user_file}:nope")
    assert "no factory 'nope'" in msg and "make" in msg
    assert "not callable" in _user_error(f"{user_file}:NOT_CALLABLE")
    msg = _user_error(f"{user_file}:not_a_module", build=True)
    assert "returned int" in msg and "nn.Module" in msg
    msg = _user_error(f"{user_file}:explodes", build=True)
    assert "failed" in msg and "boom" in msg
    msg = _user_error(f"{user_file}:make", params={"bogus": "1"})
    assert "bogus" in msg

    broken = tmp_path / "broken.py"
    broken.write_text("import torch\nraise ValueError('bad config\\nsecond line')\n")
    msg = _user_error(f"{broken}:make")
    assert "cannot import" in msg and "ValueError: bad config" in msg and "second line" not in msg

    syntax = tmp_path / "syntax.py"
    syntax.write_text("def make(:\n")
    assert "SyntaxError" in _user_error(f"{syntax}:make")

    assert "not found" in _user_error("perfgraph_no_such_package.models:make")
