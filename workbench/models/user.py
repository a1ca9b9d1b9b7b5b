"""Workbench users: people and machines holding an API token."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db import Model
from workbench.models.base import utcnow

ROLES = ("annotator", "reviewer", "admin")


class User(Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    role: Mapped[str] = mapped_column(sa.String(20))
    # sha256 of the token: the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # Argon2id hash (argon2-cffi's PHC string) of the password people sign in to the pages with;
    # None until the user sets one through a one-time link (see workbench.passwords).
    password_hash: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    label_studio_user_id: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": self.role,
            "active": self.active,
            "label_studio_user_id": self.label_studio_user_id,
            "has_password": self.password_hash is not None,
        }


class LabelStudioUser(Model):
    """Label Studio's users, cached by id: webhooks carry only the annotator's id."""

    __tablename__ = "label_studio_users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    first_name: Mapped[str] = mapped_column(sa.String(200), default="")
    last_name: Mapped[str] = mapped_column(sa.String(200), default="")
    fetched_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class PasswordLink(Model):
    """A one-time link to set a password: only the sha256 of its token is stored.

    A link works once, until it expires, and only while it is the user's newest: issuing a new
    one revokes the older ones. Using it is a conditional UPDATE, so two tabs cannot both use it.
    """

    __tablename__ = "password_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    purpose: Mapped[str] = mapped_column(sa.String(20))  # "set" (new account) or "reset"
    created_by: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True), default=None)


class SignInAttempt(Model):
    """One attempt to sign in to the pages, kept to rate-limit failures across every process.

    ``outcome`` starts ``pending`` (written before the password is checked, so attempts made at
    the same moment count each other), then becomes ``ok``, ``failed`` or ``limited``.
    """

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    remote_addr: Mapped[str] = mapped_column(sa.String(64), index=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, index=True)
    outcome: Mapped[str] = mapped_column(sa.String(10), default="pending")
