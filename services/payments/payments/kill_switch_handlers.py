"""Operators read and flip the kill switches; every change is audited (who, why, when)."""

from __future__ import annotations

from payments import audit, kill_switch_store
from payments.audit import AuditRecord
from payments.deps import PaymentsDeps
from payments.errors import KillSwitchNotFoundError
from payments.kill_switch_store import SwitchRow
from payments.kill_switches import Switch


async def list_switches(deps: PaymentsDeps) -> list[SwitchRow]:
    async with deps.uow() as tx:
        return await kill_switch_store.read_all(tx)


async def set_switch(
    deps: PaymentsDeps, *, name: Switch, enabled: bool, reason: str, actor: str
) -> SwitchRow:
    async with deps.uow() as tx:
        before = await kill_switch_store.lock_one(tx, name)
        if before is None:
            raise KillSwitchNotFoundError(f"No kill switch {name.value}.")
        after = await kill_switch_store.set_one(
            tx, name, enabled=enabled, reason=reason, actor=actor
        )
        await audit.append(
            tx,
            AuditRecord(
                actor_type="admin",
                actor_id=actor,
                action="kill_switch.set",
                resource_type="kill_switch",
                resource_id=name.value,
                details={
                    "before": {"enabled": before.enabled, "reason": before.reason},
                    "after": {"enabled": after.enabled, "reason": after.reason},
                },
            ),
        )
    deps.kill_switches.invalidate()
    return after
