"""MIG slice names (`app.pricing.mig.canonical_mig_type`): every spelling a slice arrives in becomes the one
canonical type `<PARENT>-MIG-<g>G.<mem>GB`, read back by `mig_parent`/`mig_compute_slices`, and the price
catalog applies it when no alias matches. Expected values come from NVIDIA's MIG profile tables
(docs/importers/mig.md), not from the code."""

from __future__ import annotations

import pytest

from app.pricing.catalog import default_catalog, parse_catalog
from app.pricing.mig import PARENT_PREFERENCE, PARENT_PROFILES, canonical_mig_type
from app.pricing.scopes import mig_compute_slices, mig_parent


@pytest.mark.parametrize(("name", "expected"), [
    # the canonical form, any case
    ("A100-80GB-MIG-3G.40GB", "A100-80GB-MIG-3G.40GB"),
    ("a100-80gb-mig-3g.40gb", "A100-80GB-MIG-3G.40GB"),
    (" H100-MIG-1G.10GB+ME ", "H100-MIG-1G.10GB+ME"),
    # Slurm GRES types, alone or with their TRES/GRES prefix and count
    ("a100_3g.40gb", "A100-80GB-MIG-3G.40GB"),
    ("a100_3g.20gb", "A100-40GB-MIG-3G.20GB"),
    ("gres/gpu:a100_3g.40gb", "A100-80GB-MIG-3G.40GB"),
    ("gpu:a100_2g.10gb:1", "A100-40GB-MIG-2G.10GB"),
    ("nvidia_a100-sxm4-80gb_1g.10gb", "A100-80GB-MIG-1G.10GB"),
    ("h100_3g.40gb", "H100-MIG-3G.40GB"),
    ("h100_3g.47gb", "H100-94GB-MIG-3G.47GB"),   # the family is named: the profile picks the H100 model
    # Kubernetes extended resources: no parent named, inferred from the profile
    ("nvidia.com/mig-3g.40gb", "A100-80GB-MIG-3G.40GB"),
    ("mig-3g.40gb", "A100-80GB-MIG-3G.40GB"),
    ("mig-1g.5gb", "A100-40GB-MIG-1G.5GB"),
    ("mig-1g.10gb", "A100-80GB-MIG-1G.10GB"),      # also an A100-40GB profile: the documented choice
    ("nvidia.com/mig-1g.10gb+me", "A100-80GB-MIG-1G.10GB+ME"),
    ("mig-3g.48gb", "H100-96GB-MIG-3G.48GB"),
    ("mig-3g.71gb", "H200-MIG-3G.71GB"),
    ("mig-7g.180gb", "B200-MIG-7G.180GB"),
    # GPU feature discovery product labels, with or without the label key
    ("NVIDIA-A100-SXM4-80GB-MIG-3g.40gb", "A100-80GB-MIG-3G.40GB"),
    ("nvidia.com/gpu.product=NVIDIA-A100-SXM4-80GB-MIG-3g.40gb", "A100-80GB-MIG-3G.40GB"),
    ("nvidia.com/mig-1g.5gb.product=A100-SXM4-40GB-MIG-1g.5gb", "A100-40GB-MIG-1G.5GB"),
    ("NVIDIA-H100-80GB-HBM3-MIG-3g.40gb", "H100-MIG-3G.40GB"),   # a named parent wins over the A100 default
    ("NVIDIA-A100-SXM4-40GB-MIG-1g.10gb", "A100-40GB-MIG-1G.10GB"),
    ("NVIDIA-H100-NVL-MIG-1g.12gb", "H100-94GB-MIG-1G.12GB"),
    # an unknown GPU in the explicit canonical form keeps its name
    ("L40S-MIG-1G.12GB", "L40S-MIG-1G.12GB"),
])
def test_spellings(name: str, expected: str) -> None:
    assert canonical_mig_type(name) == expected


@pytest.mark.parametrize("name", [
    "A100-80GB", "H100", "mixed", "", "V100M16", "nvidia.com/gpu",
    "A100-MIG-8G.80GB",          # no 8-slice profile
    "v100_1g.5gb",               # V100 has no MIG: a GRES type of an unknown family is not read as a slice
    "mig-2g.12gb", "a30_2g.12gb", "NVIDIA-A30-MIG-1g.6gb",  # A30: 4 compute slices, so not priced as g/7
    "mig-3g.41gb",               # no GPU has this profile
])
def test_not_slices(name: str) -> None:
    assert canonical_mig_type(name) is None


def test_every_result_reads_back_through_the_contract() -> None:
    for parent, profiles in PARENT_PROFILES.items():
        for g, memory in profiles:
            canonical = canonical_mig_type(f"{parent}-MIG-{g}g.{memory}gb")
            assert canonical == f"{parent}-MIG-{g}G.{memory}GB"
            assert mig_parent(canonical) == parent
            assert mig_compute_slices(canonical) == g


def test_unnamed_profiles_map_to_the_first_preferred_parent() -> None:
    for parent in PARENT_PREFERENCE:
        for g, memory in PARENT_PROFILES[parent]:
            first = next(p for p in PARENT_PREFERENCE if (g, memory) in PARENT_PROFILES[p])
            assert canonical_mig_type(f"mig-{g}g.{memory}gb") == f"{first}-MIG-{g}G.{memory}GB"


def test_too_long_a_result_is_not_made() -> None:
    assert canonical_mig_type("X" * 53 + "-MIG-3g.40gb") is None  # 65 characters
    assert canonical_mig_type("X" * 52 + "-MIG-3g.40gb") == "X" * 52 + "-MIG-3G.40GB"


def test_the_catalog_applies_it_when_no_alias_matches() -> None:
    catalog = default_catalog()
    assert catalog.canonical_gpu_type("gres/gpu:a100_3g.40gb") == "A100-80GB-MIG-3G.40GB"
    assert catalog.canonical_gpu_type("nvidia.com/mig-1g.5gb") == "A100-40GB-MIG-1G.5GB"
    # the parent goes through the catalog's aliases, as whole-GPU jobs do
    assert catalog.canonical_gpu_type("nvidia-h100-80gb-hbm3-MIG-2g.20gb") == "H100-MIG-2G.20GB"
    assert catalog.canonical_gpu_type("a100-sxm4-80gb") == "A100-80GB"   # not a slice: alias as before
    assert catalog.canonical_gpu_type("b200") == "B200"                  # unknown: upper-cased as before


def test_an_alias_wins_and_names_the_parent() -> None:
    catalog = parse_catalog({"prices": [], "aliases": {"gpu_type": {
        "a100_3g.40gb": "MY-SLICE", "big-a100": "A100-80GB", "a100": "A100-SXM"}}})
    assert catalog.canonical_gpu_type("A100_3G.40GB") == "MY-SLICE"            # an alias of the whole name
    assert catalog.canonical_gpu_type("big-a100-MIG-3g.40gb") == "A100-80GB-MIG-3G.40GB"
    assert catalog.canonical_gpu_type("a100_2g.20gb") == "A100-SXM-MIG-2G.20GB"  # an admin's own parent name
