"""More published end-to-end measurements for bench_published.py, not used by any calibration.

Same dict format as PUBLISHED, plus "runtime" ("eager" | "compiled" | "graph") and, where useful,
"input_shape" and "notes".  Every value is copied from the cited file; nothing is derived except where a note
says so.  See PUBLISHED_SUMMARY.md for the sources and caveats.
"""

BERT_LARGE = {"hidden_size": "1024", "num_hidden_layers": "24", "num_attention_heads": "16",
              "intermediate_size": "4096", "seq_len": "384"}

V31 = "https://github.com/mlcommons/inference_results_v3.1/blob/main/closed/NVIDIA/results"
LOG = "performance/run_1/mlperf_log_summary.txt"
DLE = "https://github.com/NVIDIA/DeepLearningExamples/blob"
DLE_RN50 = f"{DLE}/291f0d02e815b148fa5c2b81bf07aa3552142895/PyTorch/Classification/ConvNets/resnet50v1.5/README.md"
DLE_EFF = f"{DLE}/0107cf27e71bbb6a49f0d89bdb843c97ce41098d/PyTorch/Classification/ConvNets/efficientnet/README.md"
DLE_BERT = f"{DLE}/master/PyTorch/LanguageModeling/BERT/README.md"

_DLE_CONVNET_NOTE = (
    "NVIDIA DeepLearningExamples PyTorch eager (no TensorRT, no torch.jit), `launch.py --mode benchmark_inference`, "
    "pytorch-21.03 NGC container; timed per iteration = forward + loss + top-1/top-5 accuracy + .item() syncs "
    "(image_classification/training.py::validate, data-loading time excluded); 224x224 input")
_DLE_AMP = "AMP = torch.cuda.amp.autocast (fp16 convs/matmuls, fp32 where autocast keeps it)"

MORE_PUBLISHED = [
    # ---------------------------------------------------------------- MLPerf Inference v3.1, Jetson Orin NX 16GB
    {"case": "ResNet-50 SingleStream", "model": "resnet50", "params": None, "batch": 1,
     "hardware": "jetson-orin-nx-16gb", "precision": "int8", "metric": "latency", "value": 1078.675e-6,
     "unit": "s (mean)", "round": "MLPerf Inference v3.1 closed (edge)", "submitter": "NVIDIA",
     "system": "Orin_NX_TRT", "runtime": "graph",
     "url": f"{V31}/Orin_NX_TRT/resnet50/SingleStream/{LOG}",
     "notes": "TensorRT 8.5.2, JetPack 5.1.1, MaxP (not the MaxQ power-capped entry); GPU only (systems/Orin_NX_TRT.json: "
              "DLAs used only in the Offline scenario); p90 1.0823 ms, min 1.0666 ms"},
    {"case": "BERT-large SingleStream", "model": "hf:bert-base", "params": BERT_LARGE, "batch": 1,
     "hardware": "jetson-orin-nx-16gb", "precision": "int8", "metric": "latency", "value": 9.914735e-3,
     "unit": "s (mean)", "round": "MLPerf Inference v3.1 closed (edge, bert-99)", "submitter": "NVIDIA",
     "system": "Orin_NX_TRT", "runtime": "graph",
     "url": f"{V31}/Orin_NX_TRT/bert-99/SingleStream/{LOG}",
     "notes": "variable-length SQuAD v1.1 samples (max 384): min 5.708 ms, max 16.886 ms, p50 8.760 ms; the max is the "
              "closest figure to a padded-384 sample; GPU only"},
    {"case": "BERT-large Offline", "model": "hf:bert-base", "params": BERT_LARGE, "batch": 256,
     "hardware": "jetson-orin-nx-16gb", "precision": "int8", "metric": "throughput", "value": 194.503,
     "unit": "samples/s", "round": "MLPerf Inference v3.1 closed (edge, bert-99)", "submitter": "NVIDIA",
     "system": "Orin_NX_TRT", "runtime": "graph",
     "url": f"{V31}/Orin_NX_TRT/bert-99/Offline/{LOG}",
     "notes": "GPU only (DLAs are used only for resnet50/retinanet Offline); batch 256 from NVIDIA's BERT Offline "
              "config class Orin_NX (gpu_batch_size 256, offline_expected_qps 190); variable-length kernels, "
              "so the padded-384 trace over-counts work (same caveat as the other BERT Offline rows)"},
    # ---------------------------------------------------------------- MLPerf Inference v3.1, Jetson AGX Orin 64GB
    {"case": "BERT-large SingleStream", "model": "hf:bert-base", "params": BERT_LARGE, "batch": 1,
     "hardware": "jetson-orin-agx-64gb", "precision": "int8", "metric": "latency", "value": 4.424132e-3,
     "unit": "s (mean)", "round": "MLPerf Inference v3.1 closed (edge, bert-99)", "submitter": "NVIDIA",
     "system": "Orin_TRT", "runtime": "graph",
     "url": f"{V31}/Orin_TRT/bert-99/SingleStream/{LOG}",
     "notes": "variable-length samples: min 3.273 ms, max 6.546 ms, p50 4.212 ms; MaxP; GPU only"},
    {"case": "BERT-large Offline", "model": "hf:bert-base", "params": BERT_LARGE, "batch": 256,
     "hardware": "jetson-orin-agx-64gb", "precision": "int8", "metric": "throughput", "value": 553.693,
     "unit": "samples/s", "round": "MLPerf Inference v3.1 closed (edge, bert-99)", "submitter": "NVIDIA",
     "system": "Orin_TRT", "runtime": "graph",
     "url": f"{V31}/Orin_TRT/bert-99/Offline/{LOG}",
     "notes": "GPU only (BERT has no DLA path; the GPU+2 DLA note applies to resnet50/retinanet); batch 256 from "
              "NVIDIA's BERT Offline config class Orin (gpu_batch_size 256, offline_expected_qps 550); variable length"},
    # ---------------------------------------------------------------- MLPerf Inference v3.1, L4
    {"case": "BERT-large SingleStream", "model": "hf:bert-base", "params": BERT_LARGE, "batch": 1, "hardware": "l4",
     "precision": "int8", "metric": "latency", "value": 2.43492e-3, "unit": "s (mean)",
     "round": "MLPerf Inference v3.1 closed (bert-99)", "submitter": "NVIDIA", "system": "L4x1_TRT",
     "runtime": "graph", "url": f"{V31}/L4x1_TRT/bert-99/SingleStream/{LOG}",
     "notes": "variable-length samples: min 1.946 ms, max 4.165 ms, p50 2.307 ms; FP8/int8 engine as in the L4 Offline row"},

    # ---------------------------------------------------------------- PyTorch eager: DeepLearningExamples ResNet-50 v1.5
    # ResNet50 v1.5 = torchvision resnet50 (stride 2 in the 3x3 conv).  Tables "Inference performance: NVIDIA DGX-1
    # (1x V100 16GB)" and "Inference performance: NVIDIA T4", FP32 and Mixed Precision Inference Latency.
    {"case": "ResNet-50 eager b1", "model": "resnet50", "params": None, "batch": 1, "hardware": "v100-sxm2-32gb",
     "precision": "fp32", "metric": "latency", "value": 10.37e-3, "unit": "s (mean)",
     "round": "DeepLearningExamples ResNet50 v1.5 PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "DGX-1 (1x V100 SXM2 16GB), host 2x Xeon E5-2698 v4", "runtime": "eager", "url": DLE_RN50,
     "input_shape": [1, 3, 224, 224],
     "notes": _DLE_CONVNET_NOTE + "; NCHW; V100 16GB has the 32GB part's clocks and bandwidth; an older README revision "
              "(commit 3bbe228d, earlier container) lists 7.12 ms for the same cell: host-bound, version-sensitive"},
    {"case": "ResNet-50 eager b256", "model": "resnet50", "params": None, "batch": 256, "hardware": "v100-sxm2-32gb",
     "precision": "fp32", "metric": "throughput", "value": 1261.0, "unit": "samples/s",
     "round": "DeepLearningExamples ResNet50 v1.5 PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "DGX-1 (1x V100 SXM2 16GB)", "runtime": "eager", "url": DLE_RN50, "input_shape": [256, 3, 224, 224],
     "notes": _DLE_CONVNET_NOTE + "; NCHW; latency avg 214.48 ms"},
    {"case": "ResNet-50 eager AMP b1", "model": "resnet50", "params": None, "batch": 1, "hardware": "v100-sxm2-32gb",
     "precision": "fp16", "metric": "latency", "value": 12.78e-3, "unit": "s (mean)",
     "round": "DeepLearningExamples ResNet50 v1.5 PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "DGX-1 (1x V100 SXM2 16GB)", "runtime": "eager", "url": DLE_RN50, "input_shape": [1, 3, 224, 224],
     "notes": _DLE_CONVNET_NOTE + "; " + _DLE_AMP + "; channels_last (configs.yml memory_format nhwc); slower than FP32 "
              "at batch 1 = autocast cast ops on a host-bound run"},
    {"case": "ResNet-50 eager AMP b256", "model": "resnet50", "params": None, "batch": 256,
     "hardware": "v100-sxm2-32gb", "precision": "fp16", "metric": "throughput", "value": 3382.0, "unit": "samples/s",
     "round": "DeepLearningExamples ResNet50 v1.5 PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "DGX-1 (1x V100 SXM2 16GB)", "runtime": "eager", "url": DLE_RN50, "input_shape": [256, 3, 224, 224],
     "notes": _DLE_CONVNET_NOTE + "; " + _DLE_AMP + "; channels_last; latency avg 84.14 ms (older revision 3bbe228d: "
              "2342 img/s)"},
    {"case": "ResNet-50 eager b1", "model": "resnet50", "params": None, "batch": 1, "hardware": "t4",
     "precision": "fp32", "metric": "latency", "value": 10.7e-3, "unit": "s (mean)",
     "round": "DeepLearningExamples ResNet50 v1.5 PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "1x T4 (host not stated)", "runtime": "eager", "url": DLE_RN50, "input_shape": [1, 3, 224, 224],
     "notes": _DLE_CONVNET_NOTE + "; NCHW; older revision 3bbe228d: 5.51 ms (host-bound, version-sensitive)"},
    {"case": "ResNet-50 eager b256", "model": "resnet50", "params": None, "batch": 256, "hardware": "t4",
     "precision": "fp32", "metric": "throughput", "value": 415.0, "unit": "samples/s",
     "round": "DeepLearningExamples ResNet50 v1.5 PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "1x T4", "runtime": "eager", "url": DLE_RN50, "input_shape": [256, 3, 224, 224],
     "notes": _DLE_CONVNET_NOTE + "; NCHW; latency avg 635.98 ms; peak of the table 428 img/s at batch 64; T4 is "
              "power-capped at 70 W"},
    {"case": "ResNet-50 eager AMP b1", "model": "resnet50", "params": None, "batch": 1, "hardware": "t4",
     "precision": "fp16", "metric": "latency", "value": 12.96e-3, "unit": "s (mean)",
     "round": "DeepLearningExamples ResNet50 v1.5 PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "1x T4", "runtime": "eager", "url": DLE_RN50, "input_shape": [1, 3, 224, 224],
     "notes": _DLE_CONVNET_NOTE + "; " + _DLE_AMP + "; channels_last"},
    {"case": "ResNet-50 eager AMP b256", "model": "resnet50", "params": None, "batch": 256, "hardware": "t4",
     "precision": "fp16", "metric": "throughput", "value": 1198.0, "unit": "samples/s",
     "round": "DeepLearningExamples ResNet50 v1.5 PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "1x T4", "runtime": "eager", "url": DLE_RN50, "input_shape": [256, 3, 224, 224],
     "notes": _DLE_CONVNET_NOTE + "; " + _DLE_AMP + "; channels_last; latency avg 225.95 ms"},

    # ---------------------------------------------------------------- PyTorch eager: DeepLearningExamples EfficientNet
    # NVIDIA's efficientnet-b0/b4 (same architecture as torchvision efficientnet_b0/b4: MBConv + SE + SiLU; stochastic
    # depth is inactive in eval).  Tables "Inference performance: NVIDIA A100 (1x A100 80GB)" (TF32 / Mixed Precision
    # Inference Latency) and "Inference performance: NVIDIA V100 (1x V100 16GB)" (FP32 / Mixed Precision).
    {"case": "EfficientNet-B0 eager b1", "model": "efficientnet_b0", "params": None, "batch": 1,
     "hardware": "a100-sxm-80gb", "precision": "tf32", "metric": "latency", "value": 9.33e-3, "unit": "s (mean)",
     "round": "DeepLearningExamples EfficientNet PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "DGX A100 (1x A100 SXM 80GB), host 2x EPYC 7742", "runtime": "eager", "url": DLE_EFF,
     "input_shape": [1, 3, 224, 224],
     "notes": _DLE_CONVNET_NOTE + "; TF32 (PyTorch default on Ampere then); throughput column 130 img/s (7.7 ms) and "
              "p95 7.95 ms < mean: the mean holds outliers, use with a wide band"},
    {"case": "EfficientNet-B0 eager b256", "model": "efficientnet_b0", "params": None, "batch": 256,
     "hardware": "a100-sxm-80gb", "precision": "tf32", "metric": "throughput", "value": 5154.0, "unit": "samples/s",
     "round": "DeepLearningExamples EfficientNet PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "DGX A100 (1x A100 SXM 80GB)", "runtime": "eager", "url": DLE_EFF, "input_shape": [256, 3, 224, 224],
     "notes": _DLE_CONVNET_NOTE + "; TF32"},
    {"case": "EfficientNet-B0 eager AMP b1", "model": "efficientnet_b0", "params": None, "batch": 1,
     "hardware": "a100-sxm-80gb", "precision": "fp16", "metric": "latency", "value": 11.21e-3, "unit": "s (mean)",
     "round": "DeepLearningExamples EfficientNet PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "DGX A100 (1x A100 SXM 80GB)", "runtime": "eager", "url": DLE_EFF, "input_shape": [1, 3, 224, 224],
     "notes": _DLE_CONVNET_NOTE + "; " + _DLE_AMP + "; NHWC; throughput column 105 img/s (9.5 ms)"},
    {"case": "EfficientNet-B0 eager AMP b256", "model": "efficientnet_b0", "params": None, "batch": 256,
     "hardware": "a100-sxm-80gb", "precision": "fp16", "metric": "throughput", "value": 10239.0, "unit": "samples/s",
     "round": "DeepLearningExamples EfficientNet PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "DGX A100 (1x A100 SXM 80GB)", "runtime": "eager", "url": DLE_EFF, "input_shape": [256, 3, 224, 224],
     "notes": _DLE_CONVNET_NOTE + "; " + _DLE_AMP + "; NHWC"},
    {"case": "EfficientNet-B4 eager b256", "model": "efficientnet_b4", "params": None, "batch": 256,
     "hardware": "a100-sxm-80gb", "precision": "tf32", "metric": "throughput", "value": 702.0, "unit": "samples/s",
     "round": "DeepLearningExamples EfficientNet PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "DGX A100 (1x A100 SXM 80GB)", "runtime": "eager", "url": DLE_EFF, "input_shape": [256, 3, 380, 380],
     "notes": _DLE_CONVNET_NOTE.replace("224x224", "380x380 (B4's standard size, torchvision's default crop for "
              "efficientnet_b4; NVIDIA's models/efficientnet.py sets it per arch)") + "; TF32; latency avg 380.01 ms"},
    {"case": "EfficientNet-B4 eager AMP b256", "model": "efficientnet_b4", "params": None, "batch": 256,
     "hardware": "a100-sxm-80gb", "precision": "fp16", "metric": "throughput", "value": 1442.0, "unit": "samples/s",
     "round": "DeepLearningExamples EfficientNet PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "DGX A100 (1x A100 SXM 80GB)", "runtime": "eager", "url": DLE_EFF, "input_shape": [256, 3, 380, 380],
     "notes": "as the TF32 B4 row; " + _DLE_AMP + "; NHWC; latency avg 191.48 ms"},
    {"case": "EfficientNet-B0 eager b256", "model": "efficientnet_b0", "params": None, "batch": 256,
     "hardware": "v100-sxm2-32gb", "precision": "fp32", "metric": "throughput", "value": 2968.0, "unit": "samples/s",
     "round": "DeepLearningExamples EfficientNet PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "DGX-1 (1x V100 SXM2 16GB)", "runtime": "eager", "url": DLE_EFF, "input_shape": [256, 3, 224, 224],
     "notes": _DLE_CONVNET_NOTE + "; FP32; V100 16GB = 32GB part's clocks and bandwidth"},
    {"case": "EfficientNet-B0 eager AMP b256", "model": "efficientnet_b0", "params": None, "batch": 256,
     "hardware": "v100-sxm2-32gb", "precision": "fp16", "metric": "throughput", "value": 6176.0, "unit": "samples/s",
     "round": "DeepLearningExamples EfficientNet PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "DGX-1 (1x V100 SXM2 16GB)", "runtime": "eager", "url": DLE_EFF, "input_shape": [256, 3, 224, 224],
     "notes": _DLE_CONVNET_NOTE + "; " + _DLE_AMP + "; NHWC"},
    {"case": "EfficientNet-B4 eager b128", "model": "efficientnet_b4", "params": None, "batch": 128,
     "hardware": "v100-sxm2-32gb", "precision": "fp32", "metric": "throughput", "value": 376.0, "unit": "samples/s",
     "round": "DeepLearningExamples EfficientNet PyTorch README, pytorch-21.03", "submitter": "NVIDIA",
     "system": "DGX-1 (1x V100 SXM2 16GB)", "runtime": "eager", "url": DLE_EFF, "input_shape": [128, 3, 380, 380],
     "notes": "as the A100 B4 rows (380x380); FP32; batch 128 is the largest the FP32 V100 table lists; "
              "latency avg 346.32 ms"},

    # ---------------------------------------------------------------- PyTorch eager: DeepLearningExamples BERT-large
    # Table "Inference performance: NVIDIA DGX-1 (1x V100 32G)" > "Fine-tuning inference on NVIDIA DGX-1 with 32G" >
    # SQuAD: batch 8, sequence length 384 (run_squad.py pads every feature to max_seq_length, so no variable length).
    {"case": "BERT-large SQuAD eager b8", "model": "hf:bert-base", "params": BERT_LARGE, "batch": 8,
     "hardware": "v100-sxm2-32gb", "precision": "fp32", "metric": "throughput", "value": 48.0,
     "unit": "samples/s", "round": "DeepLearningExamples BERT PyTorch README (July 2020 revision), pytorch:20.06-py3",
     "submitter": "NVIDIA", "system": "DGX-1 (1x V100 SXM2 32GB)", "runtime": "eager", "url": DLE_BERT,
     "notes": "scripts/run_squad.sh --do_predict, BertForQuestionAnswering (2-logit head; perfgraph's hf:bert-base "
              "carries the masked-LM head, ~10% more MACs at seq 384); sequences/s over the whole eval loop "
              "(includes dataloader and logits-to-host); revision identified by its changelog, commit not resolved; "
              "same table: DGX-1 1x V100 16G 42 seq/s"},
    {"case": "BERT-large SQuAD eager AMP b8", "model": "hf:bert-base", "params": BERT_LARGE, "batch": 8,
     "hardware": "v100-sxm2-32gb", "precision": "fp16", "metric": "throughput", "value": 143.0,
     "unit": "samples/s", "round": "DeepLearningExamples BERT PyTorch README (July 2020 revision), pytorch:20.06-py3",
     "submitter": "NVIDIA", "system": "DGX-1 (1x V100 SXM2 32GB)", "runtime": "eager", "url": DLE_BERT,
     "notes": "as the FP32 row, mixed precision (fp16); same table: DGX-1 1x V100 16G 153 seq/s"},
]
