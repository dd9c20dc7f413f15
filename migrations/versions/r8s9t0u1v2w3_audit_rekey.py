"""The audit log can start a new key: a lost ``audit.key`` no longer stops every audited write.

Revision ID: r8s9t0u1v2w3
Revises: q7r8s9t0u1v2
Create Date: 2026-12-01

The chain's key lives outside the database (``viewer/services/audit.py``).
When it is lost, a workstation can only make a new one, and ``append``
refuses a new key on a chain that has rows (its rows would fork the chain):
every audited write, and so every edit of an event, failed until somebody
found the old key.  Now the owner may append an ``audit.rekey`` row, signed
with the new key and linked to the old tail like any row: from that row on the
new key signs the chain, and ``audit verify`` checks the earlier rows' links
and numbering and says plainly that their content was signed by a retired
key.

* ``audit.rekey`` joins the actions; only the owner may append one (a trigger),
  since it moves where a verify with the new key starts.
* The row's detail names the new key by a fingerprint (``key_id``, an HMAC of
  a constant under the key, which says nothing about the key itself), and
  ``caseline_audit_key_id()`` hands app logins, who cannot read the log, the
  newest one: a workstation still holding the retired key is refused at its
  next append instead of signing rows nobody can check.

Downgrade refuses while the log holds a re-key row: an audit trail is not
cut to fit an older schema.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "r8s9t0u1v2w3"
down_revision: str | None = "q7r8s9t0u1v2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAFE = "SET search_path = pg_catalog, pg_temp"

# Kept literal (migrations never import app code): viewer/db/models.py AUDIT_ACTIONS must match.
BEFORE = (
    "sign_in",
    "sign_out",
    "event.create",
    "event.update",
    "event.delete",
    "event.read_private",
    "annotation.create",
    "export",
    "sync",
    "import",
)
AFTER = (*BEFORE, "audit.rekey")

UPGRADE = rf"""
CREATE FUNCTION public.caseline_audit_rekey_by_owner() RETURNS trigger
LANGUAGE plpgsql {SAFE} AS $$
BEGIN
    IF NOT public.caseline_is_owner() THEN
        RAISE EXCEPTION 'audit_log: only the owner starts a new audit key'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_rekey_by_owner BEFORE INSERT ON public.audit_log
    FOR EACH ROW WHEN (NEW.action = 'audit.rekey') EXECUTE FUNCTION public.caseline_audit_rekey_by_owner();

CREATE INDEX ix_audit_log_rekey ON public.audit_log (seq) WHERE action = 'audit.rekey';

-- The fingerprint of the key that signs the chain now (NULL: the key of its first row).
CREATE FUNCTION public.caseline_audit_key_id() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER {SAFE} AS $$
    SELECT a.detail ->> 'key_id' FROM public.audit_log a
    WHERE a.action = 'audit.rekey' ORDER BY a.seq DESC LIMIT 1
$$;
"""

DOWNGRADE = r"""
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM public.audit_log WHERE action = 'audit.rekey') THEN
        RAISE EXCEPTION 'the audit log holds re-key rows; an older schema cannot keep them'
            USING ERRCODE = 'object_in_use';
    END IF;
END
$$;
DROP FUNCTION public.caseline_audit_key_id();
DROP INDEX public.ix_audit_log_rekey;
DROP TRIGGER audit_log_rekey_by_owner ON public.audit_log;
DROP FUNCTION public.caseline_audit_rekey_by_owner();
"""


def _action_check(actions: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_audit_log_action"), "audit_log", type_="check")
    op.create_check_constraint(
        op.f("ck_audit_log_action"), "audit_log", "action IN (" + ", ".join(f"'{a}'" for a in actions) + ")"
    )


def upgrade() -> None:
    _action_check(AFTER)
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
    _action_check(BEFORE)
