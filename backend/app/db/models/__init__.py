"""All ORM models, in one place, so that Alembic and every service see the same metadata."""

from app.db.models.api_token import ApiToken, TokenScope
from app.db.models.cost_snapshot import CostSnapshot
from app.db.models.daily_cost import DailyModelCost, DailyTeamCost, DailyUsageCost
from app.db.models.gpu_price import GpuPrice
from app.db.models.job import CostSource, Job, JobStatus
from app.db.models.team import Team
from app.db.models.user import Role, User, team_members

__all__ = [
    "ApiToken",
    "CostSnapshot",
    "CostSource",
    "DailyModelCost",
    "DailyTeamCost",
    "DailyUsageCost",
    "GpuPrice",
    "Job",
    "JobStatus",
    "Role",
    "Team",
    "TokenScope",
    "User",
    "team_members",
]
