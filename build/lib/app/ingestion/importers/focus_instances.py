"""The GPU instance types `--format focus` recognises: instance type → (GPU model, GPUs per instance), and where
in a FOCUS row an instance type is looked for. docs/importers/focus.md ("GPU instances") lists the same table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping


def _sizes(gpu_type: str, counts: dict[str, int], family: str) -> dict[str, tuple[str, int]]:
    return {f"{family}.{size}": (gpu_type, count) for size, count in counts.items()}


_ONE_GPU_SIZES = {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1}
_G5_LIKE = {**_ONE_GPU_SIZES, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}
# Instance type → (GPU model, GPUs per instance), from the providers' published instance specifications.
GPU_INSTANCE_TYPES: dict[str, tuple[str, int]] = {
    # AWS EC2
    **_sizes("V100", {"2xlarge": 1, "8xlarge": 4, "16xlarge": 8}, "p3"),
    "p3dn.24xlarge": ("V100-32GB", 8),
    "p4d.24xlarge": ("A100-40GB", 8),
    "p4de.24xlarge": ("A100-80GB", 8),
    "p5.48xlarge": ("H100", 8),
    "p5e.48xlarge": ("H200", 8),
    "p5en.48xlarge": ("H200", 8),
    "g3s.xlarge": ("M60", 1),
    **_sizes("M60", {"4xlarge": 1, "8xlarge": 2, "16xlarge": 4}, "g3"),
    **_sizes("T4", {**_ONE_GPU_SIZES, "12xlarge": 4, "metal": 8}, "g4dn"),
    **_sizes("A10G", _G5_LIKE, "g5"),
    **_sizes("L4", _G5_LIKE, "g6"),
    **_sizes("L40S", _G5_LIKE, "g6e"),
    # Google Cloud machine types with attached GPUs
    **{f"a2-highgpu-{n}g": ("A100-40GB", n) for n in (1, 2, 4, 8)},
    "a2-megagpu-16g": ("A100-40GB", 16),
    **{f"a2-ultragpu-{n}g": ("A100-80GB", n) for n in (1, 2, 4, 8)},
    "a3-highgpu-8g": ("H100", 8),
    "a3-megagpu-8g": ("H100", 8),
    **{f"g2-standard-{cpus}": ("L4", gpus) for cpus, gpus in
       ((4, 1), (8, 1), (12, 1), (16, 1), (32, 1), (24, 2), (48, 4), (96, 8))},
}
# Where an instance type is looked for, in this order; the first known type found wins.
INSTANCE_TYPE_COLUMNS = ("ChargeDescription", "SkuId", "ResourceType")
_INSTANCE_TOKEN = re.compile(
    r"\b(?:[a-z][a-z0-9-]*\.(?:\d*xlarge|large|metal)|a[23]-[a-z]+gpu-\d+g|g2-standard-\d+)\b", re.IGNORECASE)


def gpu_instance(cells: Mapping[str, str | None]) -> str | None:
    """The first instance type of GPU_INSTANCE_TYPES named, as a word, in INSTANCE_TYPE_COLUMNS of a row's
    `cells` (column → text, None when missing), lower-cased; None when no GPU instance type is named."""
    for column in INSTANCE_TYPE_COLUMNS:
        for token in _INSTANCE_TOKEN.findall(cells.get(column) or ""):
            if token.lower() in GPU_INSTANCE_TYPES:
                return token.lower()
    return None
