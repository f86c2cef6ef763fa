from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.db.models import Role


class Token(BaseModel):
    """An access token for the `Authorization: Bearer` header."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOi...", "token_type": "bearer",
         "expires_in": 3600}]})

    access_token: str = Field(examples=["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOi..."])
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the token expires", examples=[3600])


class TeamRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str = Field(examples=["nlp"])


class UserRead(BaseModel):
    """A user as the API shows it: never the password hash."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [
        {"id": "0b5c2f8e-3d7a-4a51-9c1e-2f6d8b9a4e10", "email": "ana@example.com", "role": "member",
         "is_active": True, "teams": [{"id": "dcc56aa7-fc5a-4118-9f30-1a860ffd0e83", "name": "ML Platform"}]}]})

    id: uuid.UUID
    email: str = Field(examples=["admin@example.com"])
    role: Role
    is_active: bool = True
    teams: list[TeamRef] = Field(default_factory=list, description="Teams whose jobs and costs the user may read")


class Me(BaseModel):
    """The signed-in user: who it is, its role and the teams whose jobs and costs it may read."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [
        {"id": "0b5c2f8e-3d7a-4a51-9c1e-2f6d8b9a4e10", "email": "ana@example.com", "role": "member",
         "teams": [{"id": "dcc56aa7-fc5a-4118-9f30-1a860ffd0e83", "name": "ML Platform"}]}]})

    id: uuid.UUID
    email: str = Field(examples=["admin@example.com"])
    role: Role
    teams: list[TeamRef]
