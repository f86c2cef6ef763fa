"""MIG slice names: every spelling of a Multi-Instance GPU slice read as one canonical GPU type.

A MIG slice is kept as a GPU type of its own, `<PARENT>-MIG-<g>G.<mem>GB` (`A100-80GB-MIG-3G.40GB`), the form
`app.pricing.scopes.mig_parent` / `mig_compute_slices` read; its price derives from its parent's (g/7). The same
slice arrives spelled many ways, and `canonical_mig_type` reads them all:

- the canonical form itself, in any case: `A100-80GB-MIG-3G.40GB`, `h100-mig-1g.10gb+me`;
- a Slurm GRES type, alone or as a TRES/GRES name: `a100_3g.40gb`, `gres/gpu:a100_3g.40gb`, `gpu:a100_3g.40gb:1`,
  `nvidia_a100-sxm4-80gb_3g.40gb`;
- a Kubernetes extended resource: `nvidia.com/mig-3g.40gb`, `mig-3g.40gb` (the parent is not named);
- a GPU feature discovery product label: `NVIDIA-A100-SXM4-80GB-MIG-3g.40gb`, with or without its key
  (`nvidia.com/gpu.product=…`, `nvidia.com/mig-3g.40gb.product=…`).

The parent is the canonical name of the whole GPU (`A100-80GB`, `H100`, `H200`, …, the catalog's names). When the
name gives the parent with its memory (`A100-SXM4-80GB`) that parent is used, even if the profile belongs to
another model ("a named parent wins"). When it gives only the family (`a100_…`, `h100_…`) or nothing (`mig-…`),
the parent is the first GPU of `PARENT_PREFERENCE` (within that family) whose NVIDIA MIG profiles include the
profile: `3g.40gb` → `A100-80GB` (H100 80GB has the same profile names: name the parent to get `H100`),
`3g.20gb` → `A100-40GB`, `1g.10gb` → `A100-80GB` (A100-40GB also has a `1g.10gb`). docs/importers/mig.md has the
table. Only GPUs with 7 compute slices are known here (A30 and RTX PRO 6000 have 4: their slices are not read as
MIG slices, since the g/7 rule would misprice them).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from app.pricing.scopes import MIG_MARK, MIG_SLICES_PER_GPU, mig_compute_slices, mig_parent

# The longest GPU type jobcost stores (jobs.gpu_type, rollup keys).
MAX_GPU_TYPE_LENGTH = 64

# NVIDIA MIG profiles (compute slices g, memory in GB) of each parent GPU with 7 compute slices, from NVIDIA's
# MIG user guide ("Supported MIG Profiles"); `+me` variants share their profile's (g, memory).
_A100_40 = frozenset({(1, 5), (1, 10), (2, 10), (3, 20), (4, 20), (7, 40)})
_A100_80 = frozenset({(1, 10), (1, 20), (2, 20), (3, 40), (4, 40), (7, 80)})
_H100_94 = frozenset({(1, 12), (1, 24), (2, 24), (3, 47), (4, 47), (7, 94)})
_H100_96 = frozenset({(1, 12), (1, 24), (2, 24), (3, 48), (4, 48), (7, 96)})
_H200_141 = frozenset({(1, 18), (1, 35), (2, 35), (3, 71), (4, 71), (7, 141)})
_GH200_144 = frozenset({(1, 18), (1, 36), (2, 36), (3, 72), (4, 72), (7, 144)})
_B200_180 = frozenset({(1, 23), (1, 45), (2, 45), (3, 90), (4, 90), (7, 180)})
_GB200_186 = frozenset({(1, 23), (1, 47), (2, 47), (3, 93), (4, 93), (7, 186)})
_B300_269 = frozenset({(1, 34), (1, 67), (2, 67), (3, 135), (4, 135), (7, 269)})

# Canonical parent → its profiles. Names follow the price catalog (`A100-80GB`, `H100` for the 80 GB H100).
PARENT_PROFILES: dict[str, frozenset[tuple[int, int]]] = {
    "A100-80GB": _A100_80, "A100-40GB": _A100_40,
    "A800-80GB": _A100_80, "A800-40GB": _A100_40,
    "H100": _A100_80, "H100-94GB": _H100_94, "H100-96GB": _H100_96,
    "H800": _A100_80, "H800-94GB": _H100_94,
    "H20": _H100_96,
    "H200": _H200_141,
    "GH200-96GB": _H100_96, "GH200-144GB": _GH200_144,
    "B200": _B200_180, "GB200": _GB200_186, "B300": _B300_269,
}
# Which parent an ambiguous profile maps to when the name does not say: the first listed that has the profile.
PARENT_PREFERENCE = ("A100-80GB", "A100-40GB", "H100", "H100-94GB", "H100-96GB", "H200", "GH200-144GB", "B200",
                     "GB200", "B300", "A800-80GB", "A800-40GB", "H800", "H800-94GB", "H20", "GH200-96GB")
# Family (a token of the GPU's name) → {memory in GB: canonical parent}.
_FAMILIES: dict[str, dict[int, str]] = {
    "A100": {40: "A100-40GB", 80: "A100-80GB"},
    "A800": {40: "A800-40GB", 80: "A800-80GB"},
    "H100": {80: "H100", 94: "H100-94GB", 96: "H100-96GB"},
    "H800": {80: "H800", 94: "H800-94GB"},
    "H20": {96: "H20"},
    "H200": {141: "H200"},
    "GH200": {96: "GH200-96GB", 144: "GH200-144GB"},
    "B200": {180: "B200"},
    "GB200": {186: "GB200"},
    "B300": {269: "B300", 288: "B300"},
}
# Product names that say the memory without a number (GPU feature discovery: `NVIDIA-H100-NVL`).
_NVL_MEMORY = {"H100": 94, "H800": 94, "H200": 141}

# <parent><sep>[MIG<sep>]<g>g.<mem>gb[+me] at the end of the name; the parent may be empty.
_SLICE = re.compile(r"(?P<parent>.*?)(?P<mark>(?:^|[-_ .:/])mig)?[-_ .:/]*(?P<g>[1-7])g\.(?P<mem>\d{1,3})gb"
                    r"(?P<me>\+me)?", re.IGNORECASE | re.ASCII)
# What wraps a name: a label key (`nvidia.com/gpu.product=`), a GRES/TRES prefix, a count suffix.
_LABEL_KEY = re.compile(r"^[\w./-]*product\s*=\s*", re.IGNORECASE | re.ASCII)
_PREFIX = re.compile(r"^(?:gres/)?gpu:|^nvidia\.com/", re.IGNORECASE | re.ASCII)
_COUNT = re.compile(r"(?:[:=]\d+)$", re.ASCII)
_TOKEN_SPLIT = re.compile(r"[-_ ./:]+")
_MEMORY = re.compile(r"(\d{2,3})GB?", re.ASCII)
_IGNORED_TOKENS = frozenset({"NVIDIA", "TESLA"})
# MIG-capable families with 4 compute slices, not 7: their slices are not priced by the g/7 rule.
FOUR_SLICE_FAMILIES = frozenset({"A30", "RTX"})


def canonical_mig_type(name: str, *, alias: Callable[[str], str | None] | None = None) -> str | None:
    """The canonical MIG slice type of `name` (`a100_3g.40gb` → `A100-80GB-MIG-3G.40GB`), or None when `name` is
    not a MIG slice jobcost can read (`A100-80GB`, `mixed`, an A30 slice, a result over 64 characters).

    `alias` (optional) maps a spelling of the parent GPU to its canonical name, or None when it does not know it;
    the price catalog passes its aliases, so that a parent an admin aliased resolves as whole-GPU jobs do. A
    parent the alias gives is kept unless it is a known GPU whose profiles lack this one (`h100` → `H100` for a
    `1g.12gb`, an H100 94GB profile): then the profile picks the GPU within the family, as without an alias."""
    text = _unwrap(name)
    match = _SLICE.fullmatch(text)
    if match is None:
        return None
    g, memory = int(match["g"]), int(match["mem"])
    parent_text = match["parent"].strip(" -_.:/")
    parent = _parent(parent_text, (g, memory), marked=bool(match["mark"]), alias=alias)
    if parent is None:
        return None
    canonical = f"{parent}{MIG_MARK}{g}G.{memory}GB{'+ME' if match['me'] else ''}"
    # The contract's readers must read back what was written; a parent holding "-MIG-" would not.
    if len(canonical) > MAX_GPU_TYPE_LENGTH or mig_parent(canonical) != parent or mig_compute_slices(canonical) != g:
        return None
    return canonical


def _unwrap(name: str) -> str:
    """`name` without a label key, a GRES/TRES prefix or a trailing count."""
    text = _LABEL_KEY.sub("", name.strip())
    text = _PREFIX.sub("", text)
    return _COUNT.sub("", text).strip()


def _parent(text: str, profile: tuple[int, int], *, marked: bool,
            alias: Callable[[str], str | None] | None) -> str | None:
    """The canonical parent GPU for a slice whose name spells the parent `text` (maybe empty)."""
    if not text:
        return _preferred(PARENT_PREFERENCE, profile)
    family, memory = _family(text)
    if family in FOUR_SLICE_FAMILIES:
        return None
    named = alias(text) if alias is not None else None
    if family is None:
        # An unknown GPU: only the explicit canonical form (`<parent>-MIG-…`) says that it is a MIG slice.
        if not marked:
            return None
        return named or (text.upper() if len(text.upper()) == len(text) else None)
    if named and (named not in PARENT_PROFILES or profile in PARENT_PROFILES[named]):
        return named
    parents = _FAMILIES[family]
    if memory in parents:
        return parents[memory]  # a named parent wins
    return _preferred(tuple(p for p in PARENT_PREFERENCE if p in parents.values()), profile)


def _family(text: str) -> tuple[str | None, int | None]:
    """(family, memory in GB) read from a GPU's name: `NVIDIA-A100-SXM4-80GB` → ("A100", 80), `a100` →
    ("A100", None), `NVIDIA-H100-NVL` → ("H100", 94); (None, None) when no known family is named."""
    tokens = [t for t in _TOKEN_SPLIT.split(text.upper()) if t and t not in _IGNORED_TOKENS]
    family = next((t for t in tokens if t in _FAMILIES or t in FOUR_SLICE_FAMILIES), None)
    if family is None:
        return None, None
    memory = next((int(m.group(1)) for t in tokens if (m := _MEMORY.fullmatch(t))), None)
    if memory is None and "NVL" in tokens:
        memory = _NVL_MEMORY.get(family)
    return family, memory


def _preferred(parents: tuple[str, ...], profile: tuple[int, int]) -> str | None:
    return next((p for p in parents if profile in PARENT_PROFILES[p]), None)


def compute_slices_per_gpu(parent: str) -> int:
    """Compute slices of the whole GPU `parent` (a canonical name): 4 for the families of FOUR_SLICE_FAMILIES
    (`A30`, `RTX-PRO-6000`, …), else MIG_SLICES_PER_GPU (7). The rate resolution prices a slice without a rate
    of its own at g / this of its parent's rate."""
    family, _ = _family(parent)
    return 4 if family in FOUR_SLICE_FAMILIES else MIG_SLICES_PER_GPU
