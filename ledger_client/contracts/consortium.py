"""The consortium contract: members, roles, standing, enterprise bindings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from eth_account.signers.local import LocalAccount

from ledger_client.addresses import to_checksum_address

from ..types import City, Enterprise, Member, Role, SubjectId
from .base import Call, ContractFacade, TxResult

_ZERO_ADDRESS = "0x" + "00" * 20
_ZERO32 = bytes(32)


def _city_code(city: City | str | int) -> int:
    # A name is parsed here (a typo is a Python error naming it); a number goes to
    # the chain unchanged, so the contract's own rule decides what is a city.
    if isinstance(city, str):
        return int(City.parse(city))
    return int(city)


def _roles_code(roles: Role | str | int | list[str]) -> int:
    if isinstance(roles, str | list):
        return int(Role.parse(roles))
    return int(roles)


class ConsortiumContract(ContractFacade):
    """Typed calls to ``Consortium.sol``."""

    contract_name: ClassVar[str] = "Consortium"

    # -- regulator ----------------------------------------------------------------
    def admit_member_call(
        self, account: str, name: str, city: City | str | int, roles: Role | str | int | list[str]
    ) -> Call:
        """``admitMember``, encoded: a regulator signs it, or sends it."""
        return self._call("admitMember", account, name, _city_code(city), _roles_code(roles))

    def admit_member(
        self,
        regulator: LocalAccount,
        account: str,
        name: str,
        city: City | str | int,
        roles: Role | str | int | list[str],
    ) -> TxResult:
        """Admit a member institution (regulator only)."""
        return self.send_call(regulator, self.admit_member_call(account, name, city, roles))

    def set_roles_call(self, account: str, roles: Role | str | int | list[str]) -> Call:
        """``setRoles``, encoded."""
        return self._call("setRoles", account, _roles_code(roles))

    def set_roles(
        self, regulator: LocalAccount, account: str, roles: Role | str | int | list[str]
    ) -> TxResult:
        """Replace a member's roles (regulator only)."""
        return self.send_call(regulator, self.set_roles_call(account, roles))

    def suspend_member_call(self, account: str, reason: bytes = _ZERO32) -> Call:
        """``suspendMember``, encoded."""
        return self._call("suspendMember", account, bytes(reason))

    def suspend_member(
        self, regulator: LocalAccount, account: str, reason: bytes = _ZERO32
    ) -> TxResult:
        """Suspend a member from this block on (regulator only); ``reason`` is a 32-byte code."""
        return self.send_call(regulator, self.suspend_member_call(account, reason))

    def reinstate_member_call(self, account: str) -> Call:
        """``reinstateMember``, encoded."""
        return self._call("reinstateMember", account)

    def reinstate_member(self, regulator: LocalAccount, account: str) -> TxResult:
        """Reinstate a suspended member (regulator only)."""
        return self.send_call(regulator, self.reinstate_member_call(account))

    # -- members ------------------------------------------------------------------
    def publish_encryption_key(self, member: LocalAccount, key: bytes) -> TxResult:
        """Publish the member's 32-byte X25519 public key for shared reports."""
        return self._send(member, "publishEncryptionKey", key)

    # -- registrars ---------------------------------------------------------------
    def bind_enterprise_call(self, account: str, subject: SubjectId | bytes) -> Call:
        """``bindEnterprise``, encoded."""
        return self._call("bindEnterprise", account, bytes(subject))

    def bind_enterprise(
        self, registrar: LocalAccount, account: str, subject: SubjectId | bytes
    ) -> TxResult:
        """Bind an enterprise account to its subject id (registrar only)."""
        return self.send_call(registrar, self.bind_enterprise_call(account, subject))

    def bind_enterprises(
        self,
        registrar: LocalAccount,
        bindings: Sequence[tuple[str, SubjectId | bytes]],
    ) -> TxResult:
        """Bind many (account, subject id) pairs in one transaction (registrar only)."""
        accounts = [a for a, _ in bindings]
        subjects = [bytes(s) for _, s in bindings]
        # Three new storage slots per binding: size the gas limit to the batch.
        gas = 100_000 + 80_000 * len(bindings)
        return self._send(registrar, "bindEnterprises", accounts, subjects, gas=gas)

    def rebind_enterprise_call(self, subject: SubjectId | bytes, new_account: str) -> Call:
        """``rebindEnterprise``, encoded."""
        return self._call("rebindEnterprise", bytes(subject), new_account)

    def rebind_enterprise(
        self, registrar: LocalAccount, subject: SubjectId | bytes, new_account: str
    ) -> TxResult:
        """Move a subject to a new account, unbinding the old one (registrar only)."""
        return self.send_call(registrar, self.rebind_enterprise_call(subject, new_account))

    # -- reads --------------------------------------------------------------------
    def member(self, account: str, block: int | str = "latest") -> Member | None:
        """The member record of ``account`` at ``block``, or None when it is not a member."""
        (m,) = self._read("member", account, block=block)
        return _member(account, m)

    def members(self) -> list[Member]:
        """Every member ever admitted, in admission order."""
        (count,) = self._read("memberCount")
        out = []
        for i in range(count):
            (account,) = self._read("memberAt", i)
            m = self.member(account)
            if m is not None:
                out.append(m)
        return out

    def has_role(self, account: str, role: Role | int, block: int | str = "latest") -> bool:
        """True when ``account`` is a member in good standing holding every role in ``role``."""
        (ok,) = self._read("hasRole", account, int(role), block=block)
        return bool(ok)

    def require_role(self, account: str, role: Role | int) -> None:
        """Raise ConsortiumUnauthorized or ConsortiumMemberSuspended unless ``account`` may act.

        A check only, as on chain: ``member(account).city`` gives the member's city.
        """
        self._read("requireRole", account, int(role))

    def enterprise(self, account: str) -> Enterprise | None:
        """The enterprise bound to ``account``, or None."""
        ((subject, registrar, bound_at),) = self._read("enterprise", account)
        if subject == _ZERO32:
            return None
        return Enterprise(to_checksum_address(account), SubjectId(subject), registrar, bound_at)

    def account_of(self, subject: SubjectId | bytes) -> str | None:
        """The account a subject is bound to, or None."""
        (account,) = self._read("accountOf", bytes(subject))
        return None if account == _ZERO_ADDRESS or int(account, 16) == 0 else str(account)


def _member(account: str, m: tuple[Any, ...]) -> Member | None:
    city, roles, suspended, admitted_at, _changed_at, key, name = m
    if city == 0:
        return None
    return Member(
        account=to_checksum_address(account),
        name=name,
        city=City(city),
        roles=Role(roles),
        suspended=bool(suspended),
        admitted_at=admitted_at,
        encryption_key=b"" if key == _ZERO32 else key,
    )
