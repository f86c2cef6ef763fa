"""All ORM models, in one place, so that Alembic and every service see the same metadata."""

from app.db.models.api_token import ApiToken, TokenScope, api_token_teams
from app.db.models.budget import (
    AlertEvent,
    AlertKind,
    Budget,
    BudgetPeriod,
    BudgetScope,
    DeliveryState,
    Webhook,
    WebhookDelivery,
    WebhookKind,
)
from app.db.models.cost_snapshot import CostSnapshot
from app.db.models.daily_cost import (
    DailyGpuCost,
    DailyModelCost,
    DailyStatusCost,
    DailyTeamCost,
    DailyTeamGpuCost,
    DailyTeamModelCost,
    DailyTeamStatusCost,
    DailyUsageCost,
    MonthlyTeamModelCost,
)
from app.db.models.energy import CoefficientKind, EnergyChange, EnergyOverride
from app.db.models.gpu_price import AliasKind, GpuPrice, NameAlias, PriceChange, RateOrigin
from app.db.models.job import CostSource, EnergySource, Job, JobStatus
from app.db.models.login_throttle import LoginThrottle, ThrottleKind
from app.db.models.operation import Operation, OperationState
from app.db.models.team import Team
from app.db.models.user import Role, User, team_members

__all__ = [
    "AlertEvent",
    "AlertKind",
    "Budget",
    "BudgetPeriod",
    "BudgetScope",
    "DeliveryState",
    "Webhook",
    "WebhookDelivery",
    "WebhookKind",
    "AliasKind",
    "CoefficientKind",
    "EnergyChange",
    "EnergyOverride",
    "ApiToken",
    "CostSnapshot",
    "CostSource",
    "DailyGpuCost",
    "DailyModelCost",
    "DailyStatusCost",
    "DailyTeamCost",
    "DailyTeamGpuCost",
    "DailyTeamModelCost",
    "DailyTeamStatusCost",
    "DailyUsageCost",
    "EnergySource",
    "GpuPrice",
    "Job",
    "JobStatus",
    "LoginThrottle",
    "MonthlyTeamModelCost",
    "Operation",
    "OperationState",
    "NameAlias",
    "PriceChange",
    "RateOrigin",
    "Role",
    "Team",
    "ThrottleKind",
    "TokenScope",
    "User",
    "api_token_teams",
    "team_members",
]
