"""Energy, utilisation and region through the importers other than sacct's energy columns (test_slurm_energy.py):
`--map` targets and same-named columns of csv/ndjson, `--region` for every format, a region column in a pod list,
the Slurm `--region`. No database; expected values written out by hand."""

from __future__ import annotations

import io
from typing import Any

import pytest

from app.ingestion.cli_options import build_options
from app.ingestion.importers import ImporterConfigError, ImportOptions, Tally, importer_for
from app.ingestion.normalize import NormalizedJob, normalize_record
from app.pricing.catalog import default_catalog
from tests.ingestion.importers.test_k8s_pods import DLRM, OPENB_HEADER
from tests.ingestion.importers.test_k8s_pods import read as read_pods
from tests.ingestion.importers.test_tabular import NOW

EXPORT = """JobID,Group,State,Start,End,GPUs,kWh,Util,DC
101,NLP,COMPLETED,2026-01-14T08:00:00Z,2026-01-14T10:30:00Z,8,12.5,0.82,Frankfurt-1
102,Vision,COMPLETED,2026-01-14T08:00:00Z,2026-01-14T09:00:00Z,2,,,
"""
MAP = {"job_id": "JobID", "team": "Group", "status": "State", "started_at": "Start", "ended_at": "End",
       "gpu_count": "GPUs", "energy_kwh": "kWh", "gpu_utilization": "Util", "region": "DC"}


def records(fmt: str, text: str, **options: Any) -> dict[str, dict[str, Any]]:
    tally = Tally()
    rows = list(importer_for(fmt)(ImportOptions(**options)).read(io.StringIO(text), tally))
    tally.check()
    return {row.record["job_id"]: row.record for row in rows}


def valid(record: dict[str, Any]) -> NormalizedJob:
    outcome = normalize_record(record, now=NOW, catalog=default_catalog())
    assert isinstance(outcome, NormalizedJob), outcome
    return outcome


def test_csv_map_feeds_the_three_fields_and_blank_cells_are_absent() -> None:
    jobs = records("csv", EXPORT, mapping=MAP)
    first, second = valid(jobs["101"]), valid(jobs["102"])
    # 12.5 kWh = 12,500,000 mWh; 0.82 = 8,200 ten-thousandths; the region case-folded.
    assert (first.energy_mwh, first.gpu_util_bp, first.region) == (12_500_000, 8_200, "frankfurt-1")
    assert (second.energy_mwh, second.gpu_util_bp, second.region) == (None, None, None)


def test_ndjson_keys_named_like_the_fields_need_no_map() -> None:
    text = ('{"job_id": "n1", "team": "nlp", "status": "COMPLETED", "started_at": "2026-01-14T08:00:00Z", '
            '"ended_at": "2026-01-14T09:00:00Z", "energy_kwh": 3.25, "gpu_utilization": "0.5", '
            '"region": "eu-west-1"}\n')
    job = valid(records("ndjson", text)["n1"])
    assert (job.energy_mwh, job.gpu_util_bp, job.region) == (3_250_000, 5_000, "eu-west-1")


def test_region_option_is_every_rows_region_and_cannot_meet_a_mapped_region() -> None:
    mapping = {k: v for k, v in MAP.items() if k != "region"}
    jobs = records("csv", EXPORT, mapping=mapping, region="us-east-1")
    assert {r["region"] for r in jobs.values()} == {"us-east-1"}
    with pytest.raises(ImporterConfigError, match="--region"):
        records("csv", EXPORT, mapping=MAP, region="us-east-1")


def test_a_blank_region_option_is_refused() -> None:
    with pytest.raises(ValueError, match="--region"):
        build_options(cluster=None, team=None, team_from=None, model_from=None, provider=None, tz="UTC",
                      epoch=None, fields=None, pairs=[], map_file=None, region="  ")


def test_slurm_region_option() -> None:
    body = ("JobID|Account|State|Start|End|AllocTRES\n"
            "1|nlp|COMPLETED|2026-01-14T08:00:00|2026-01-14T09:00:00|gres/gpu=1\n")
    assert records("slurm", body, region="DC-Paris")["1"]["region"] == "DC-Paris"
    assert "region" not in records("slurm", body)["1"]


def test_pod_list_region_from_the_option_or_a_region_column() -> None:
    rows, _ = read_pods(DLRM, region="cn-beijing")
    assert {row.record["region"] for row in rows} == {"cn-beijing"}
    rows, _ = read_pods(DLRM)
    assert all("region" not in row.record for row in rows)
    text = (OPENB_HEADER + ",topology.kubernetes.io/region\n"
            "openb-pod-0001,8000,30000,1,1000,V100M16,LS,Running,0,100,10,us-west-1\n")
    rows, _ = read_pods(text)
    assert rows[0].record["region"] == "us-west-1"
