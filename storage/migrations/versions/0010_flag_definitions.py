"""A flag in an environment becomes a flagd flag definition; flags may have typed variants.

Each old state (enabled, rollout, targets) becomes the definition that answers as it did: the
flagd export of turn 1, except that an off flag now serves its `off` variant (state ENABLED,
reason STATIC) instead of state DISABLED, which in flagd means "the caller's default".

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BOOLEAN = {"on": True, "off": False}


def definition_of(enabled: bool, rollout: int, targets: list) -> dict:
    """The flagd definition answering as the old state did (kept here: the migration must not
    change when the application code does)."""
    definition = {"state": "ENABLED", "variants": dict(BOOLEAN), "defaultVariant": "on" if enabled and rollout == 100 else "off"}
    if not enabled:
        return definition
    partial = 0 < rollout < 100
    if not partial and not targets:
        return definition
    rest = {"fractional": [["on", rollout], ["off", 100 - rollout]]} if partial else ("on" if rollout == 100 else "off")
    definition["targeting"] = {"if": [{"in": [{"var": "targetingKey"}, list(targets)]}, "on", rest]} if targets else rest
    return definition


def state_of(definition: dict) -> tuple[bool, int, list]:
    """The way back, for the shapes the old model could hold (anything else becomes off)."""
    targeting = definition.get("targeting")
    on = definition.get("defaultVariant") == "on"
    if not targeting:
        return on, 100 if on else 0, []
    targets: list = []
    rest = targeting
    if isinstance(targeting, dict) and "if" in targeting:
        condition, _, rest = targeting["if"]
        if "in" not in condition:
            return False, 100, []
        targets = list(condition["in"][1])
    if isinstance(rest, dict) and "fractional" in rest:
        return True, int(rest["fractional"][0][1]), targets
    return True, 100 if rest == "on" else 0, targets


def _convert_changes(connection, convert, marker: str) -> None:
    """The audit trail's before and after, in the new (or old) form."""
    changes = sa.table("flag_changes", sa.column("id", sa.Integer), sa.column("before", sa.JSON), sa.column("after", sa.JSON))
    for row in connection.execute(sa.select(changes)).mappings().all():
        values = {
            column: convert(row[column]) for column in ("before", "after")
            if isinstance(row[column], dict) and marker in row[column]
        }
        if values:
            connection.execute(changes.update().where(changes.c.id == row["id"]).values(**values))


# flag_states as both directions see it, while it holds the old columns and the new one
STATES = sa.table(
    "flag_states", sa.column("flag_key", sa.String), sa.column("environment", sa.String),
    sa.column("enabled", sa.Boolean), sa.column("rollout", sa.Integer), sa.column("targets", sa.JSON),
    sa.column("definition", sa.JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("flags") as batch:
        batch.add_column(sa.Column("variants", sa.JSON(), nullable=True))
    with op.batch_alter_table("flag_states") as batch:
        batch.add_column(sa.Column("definition", sa.JSON(), nullable=True))
    connection = op.get_bind()
    for row in connection.execute(sa.select(STATES)).mappings().all():
        connection.execute(
            STATES.update()
            .where(STATES.c.flag_key == row["flag_key"], STATES.c.environment == row["environment"])
            .values(definition=definition_of(bool(row["enabled"]), int(row["rollout"]), list(row["targets"] or [])))
        )
    _convert_changes(connection, lambda old: definition_of(bool(old["enabled"]), int(old["rollout"]), list(old["targets"])), "enabled")
    with op.batch_alter_table("flag_states") as batch:
        batch.alter_column("definition", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("enabled")
        batch.drop_column("rollout")
        batch.drop_column("targets")


def downgrade() -> None:
    with op.batch_alter_table("flag_states") as batch:
        batch.add_column(sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("rollout", sa.Integer(), nullable=False, server_default="100"))
        batch.add_column(sa.Column("targets", sa.JSON(), nullable=True))
    connection = op.get_bind()
    for row in connection.execute(sa.select(STATES)).mappings().all():
        enabled, rollout, targets = state_of(row["definition"])
        connection.execute(
            STATES.update()
            .where(STATES.c.flag_key == row["flag_key"], STATES.c.environment == row["environment"])
            .values(enabled=enabled, rollout=rollout, targets=targets)
        )
    _convert_changes(connection, lambda new: dict(zip(("enabled", "rollout", "targets"), state_of(new))), "variants")
    with op.batch_alter_table("flag_states") as batch:
        batch.drop_column("definition")
    with op.batch_alter_table("flags") as batch:
        batch.drop_column("variants")
