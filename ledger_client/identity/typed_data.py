"""EIP-712 typed-data templates: what a party signs for each write, in the wallet's own form.

A bank or an enterprise that is not written in Python signs its writes with
whatever its language offers, usually a wallet's ``eth_signTypedData_v4``
(ethers' ``signTypedData``, MetaMask, an HSM's EIP-712 call). That needs, for
each write, the domain, the types, the primary type and the message. This
module builds them from a deployment (its chain id and contract addresses) and
a list of :class:`WriteDescription` (which writes exist, and for a relayed call
which contract function and where each argument comes from), so nothing is
copied from the Solidity sources by hand::

    catalogue = typed_data_catalogue(ledger.manifest, ledger.artifacts, writes)
    catalogue.write("receivables.request_financing").typed_data  # ready to sign, once filled

The template's ``message`` holds the values fixed by the deployment (the
target contract of a ``ForwardRequest``) and, for every other field, a
placeholder ``"<body.nonce>"`` naming where the value comes from; the field
list says each one's type and source. A ``ForwardRequest``'s ``data`` is the
call's calldata, ``selector ‖ abi.encode(arguments)``: the template's ``call``
gives the function's signature, selector, ABI fragment and its arguments in
order, each with the request field it is taken from.

The catalogue takes the list of writes as an argument: which writes a server
accepts is the server's to say (today ``api/typed_data_writes.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger_client.addresses import to_checksum_address
from ledger_client.chain.artifacts import Artifacts
from ledger_client.contracts.attestations import ATTEST_TYPES
from ledger_client.contracts.authorisations import AUTHORISE_TYPES
from ledger_client.deployment import EIP712_DOMAINS, Manifest
from ledger_client.errors import LedgerValueError, ManifestError
from ledger_client.identity.eip712 import EIP712_DOMAIN_TYPE, Domain
from ledger_client.lending.collateral import PLEDGE_TYPES
from ledger_client.lending.facilities import ACCEPT_TYPES

__all__ = [
    "CONSENT_TYPES",
    "FORWARD_REQUEST_TYPES",
    "PRIMARY_TYPES",
    "CallArgument",
    "CallTemplate",
    "ConsentTemplate",
    "MessageField",
    "TemplateValuesInvalid",
    "TypedDataCatalogue",
    "UnknownWrite",
    "WriteDescription",
    "WriteDescriptionInvalid",
    "WriteTemplate",
    "domains_of",
    "encode_type",
    "typed_data_catalogue",
]

#: EIP-712 ``ForwardRequest`` of ``Forwarder.sol`` (``IForwarder.ForwardRequest``).
FORWARD_REQUEST_TYPES: dict[str, list[dict[str, str]]] = {
    "ForwardRequest": [
        {"name": "from", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint48"},
        {"name": "data", "type": "bytes"},
    ]
}


class WriteDescriptionInvalid(LedgerValueError):
    """A write description names what the deployment cannot sign: an unknown primary type,
    contract or function, the wrong number of argument sources, or an operation twice."""


class TemplateValuesInvalid(LedgerValueError):
    """Values given to fill a template leave a placeholder empty, name a field the message
    does not have, or overwrite a value the template fixes."""


class UnknownWrite(LedgerValueError, KeyError):
    """No write of the catalogue has this operation name."""

    def __init__(self, operation: str, known: Iterable[str]) -> None:
        self.operation = operation
        super().__init__(f"no write {operation!r}; known are {', '.join(sorted(known))}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class _Message:
    """One signed message type: its domain's contract, its types, and where each field's
    value comes from in the API's request."""

    contract: str  # the contract whose EIP-712 domain it is signed in
    types: dict[str, list[dict[str, str]]]
    sources: dict[str, tuple[str, str]]  # message field -> (source, what it is)
    fixed: tuple[str, ...] = ()  # fields whose value the template holds (no placeholder)


#: Every message the API takes a signature of, by EIP-712 primary type.
_MESSAGES: dict[str, _Message] = {
    "ForwardRequest": _Message(
        "Forwarder",
        FORWARD_REQUEST_TYPES,
        {
            "from": ("body.signer", "the acting party: a member, or an enterprise's account"),
            "to": ("call.address", "the contract the call goes to (the template holds it)"),
            "nonce": ("body.nonce", "any number the signer has not used with the Forwarder"),
            "deadline": ("body.deadline", "UNIX seconds after which the request is void (< 2**48)"),
            "data": ("calldata", "call.selector followed by abi.encode of call.arguments"),
        },
        fixed=("to",),
    ),
    "Attest": _Message(
        "Attestations",
        ATTEST_TYPES,
        {
            "schema": ("schema id", "the schema's id (GET /v1/schemas); the body names it"),
            "subject": ("body.subject", "the enterprise's subject id"),
            "dataHash": ("body.data_hash", "keccak256 of the record's canonical JSON"),
            "expiry": ("body.expiry", "UNIX seconds, 0 for none"),
            "refUID": ("body.ref_uid", "the attestation this one refers to; zero for none"),
            "attester": ("body.signer", "the attesting member"),
            "nonce": ("body.nonce", "unused by the attester; < 2**56 to fit a signed batch"),
            "deadline": ("body.deadline", "UNIX seconds after which it is void (< 2**40)"),
        },
    ),
    "Authorise": _Message(
        "Authorisations",
        AUTHORISE_TYPES,
        {
            "member": ("body.member", "the member that may query"),
            "purpose": (
                "purpose code",
                "body.purpose as its code: 1 loan-approval, 2 post-loan-management, "
                "3 guarantee-review, 4 receivables-financing, 5 counterparty-review",
            ),
            "expiry": ("body.expiry", "UNIX seconds; the authorisation lapses at this second"),
            "schemas": (
                "schema ids",
                "body.schemas as schema ids (GET /v1/schemas), in order; empty for all",
            ),
            "enterprise": ("body.enterprise", "the enterprise's bound account, which signs"),
            "nonce": ("body.nonce", "unused by the enterprise"),
            "deadline": ("body.deadline", "UNIX seconds after which the signature is void"),
        },
    ),
}
#: The primary types a write may be signed as.
PRIMARY_TYPES = tuple(_MESSAGES)

#: Another party's signed consent a relayed call carries (its signature is an argument of
#: the call), by EIP-712 primary type.
_CONSENTS: dict[str, _Message] = {
    "Pledge": _Message(
        "CollateralRegistry",
        PLEDGE_TYPES,
        {
            "kind": (
                "kind code",
                "body.kind as its code: 1 receivable, 2 patent, 3 trademark, 4 equity, 5 movable",
            ),
            "key": ("body.key", "the asset's key"),
            "pledgee": ("body.signer", "the pledgee bank, which signs the call"),
            "securedAmount": ("body.secured_amount_fen", "fen secured"),
            "expiry": ("body.expiry", "UNIX seconds: the pledge lapses at this second"),
            "rank": (
                "body.rank",
                "the asset's registration count (GET /v1/collateral/assets/{asset_id})",
            ),
            "deadline": ("body.consent_deadline", "UNIX seconds after which the consent is void"),
        },
    ),
    "AcceptAgreement": _Message(
        "CreditFacilities",
        ACCEPT_TYPES,
        {
            "agreement": ("path agreement", "the joint agreement's number"),
            "subject": ("agreement subject", "GET /v1/agreements/{agreement}: subject"),
            "lead": ("agreement lead", "GET /v1/agreements/{agreement}: lead"),
            "jointLimit": (
                "agreement joint limit",
                "GET /v1/agreements/{agreement}: joint_limit_fen",
            ),
            "deadline": (
                "body.consent_deadline",
                "UNIX seconds after which the acceptance is void",
            ),
        },
    ),
}
#: The consents a relayed call may carry.
CONSENT_TYPES = tuple(_CONSENTS)


@dataclass(frozen=True)
class WriteDescription:
    """One write a server accepts, as much of it as a signer needs.

    A ``ForwardRequest`` write names the contract (as the manifest does) and
    function it calls, and where each of the function's arguments comes from,
    in the function's order (``"path receivable_id"``, ``"body.financier"``, ...).
    """

    operation: str  # what submissions call it, e.g. "receivables.request_financing"
    method: str  # the HTTP method, "POST"
    path: str  # e.g. "/v1/receivables/{receivable_id}/financing-requests"
    primary_type: str  # "ForwardRequest", "Attest" or "Authorise"
    signer: str  # who signs it, in words
    submitted_by: str  # whose API key may hand it in, in words
    contract: str = ""  # ForwardRequest: the contract called, e.g. "Receivables"
    function: str = ""  # ForwardRequest: the function called, e.g. "requestFinancing"
    arguments: tuple[str, ...] = ()  # ForwardRequest: each argument's source, in order
    other_paths: tuple[str, ...] = ()  # routes taking a list of the same signed message
    consent: str = ""  # the primary type of another party's consent the call carries
    consent_signer: str = ""  # who signs that consent, in words


@dataclass(frozen=True)
class MessageField:
    """One field of a template's message."""

    name: str
    type: str  # its EIP-712 type
    source: str  # where its value comes from: "body.nonce", "calldata", "call.address", ...
    description: str  # what the value is
    fixed: bool  # True when the template already holds its value; else "<source>" does


@dataclass(frozen=True)
class CallArgument:
    """One argument of a relayed call."""

    name: str  # as the Solidity function names it
    type: str  # its canonical ABI type, tuples spelled out
    source: str  # where its value comes from in the request


@dataclass(frozen=True)
class CallTemplate:
    """How a ``ForwardRequest``'s ``data`` is built: ``selector ‖ abi.encode(arguments)``."""

    contract: str
    address: str
    function: str
    signature: str  # e.g. "requestFinancing(bytes32,address,uint64,uint16,uint40)"
    selector: str  # 0x and 8 hex digits
    arguments: tuple[CallArgument, ...]
    abi: dict[str, Any]  # the function's ABI fragment, as the compiler wrote it


@dataclass(frozen=True)
class ConsentTemplate:
    """The typed data of another party's consent a relayed call carries (a pledgor's
    ``Pledge``, an enterprise's ``AcceptAgreement``)."""

    signer: str  # who signs it, in words
    typed_data: dict[str, Any]
    fields: tuple[MessageField, ...]

    def to_json(self) -> dict[str, Any]:
        """The JSON form the API serves."""
        return {
            "signer": self.signer,
            "typed_data": copy.deepcopy(self.typed_data),
            "fields": [vars(f).copy() for f in self.fields],
        }


@dataclass(frozen=True)
class WriteTemplate:
    """A write and the typed data its signer signs."""

    description: WriteDescription
    typed_data: dict[str, Any]  # {domain, types (EIP712Domain included), primaryType, message}
    fields: tuple[MessageField, ...]
    call: CallTemplate | None  # ForwardRequest writes only
    consent: ConsentTemplate | None = None  # the consent of another party the call carries

    @property
    def operation(self) -> str:
        """The write's operation name."""
        return self.description.operation

    def filled(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The typed data with every placeholder replaced from ``values`` (by message field).

        Raises TemplateValuesInvalid naming any placeholder left unfilled, any field that the
        message does not have, or any field the template fixes (a ForwardRequest's ``to``).
        """
        unknown = sorted(set(values) - {f.name for f in self.fields})
        if unknown:
            raise TemplateValuesInvalid(
                f"{self.operation}: {self.typed_data['primaryType']} has no field {unknown}"
            )
        fixed = sorted(f.name for f in self.fields if f.fixed and f.name in values)
        if fixed:
            raise TemplateValuesInvalid(f"{self.operation}: {fixed} fixed by the template")
        missing = [f.name for f in self.fields if not f.fixed and f.name not in values]
        if missing:
            raise TemplateValuesInvalid(f"{self.operation}: no value for {missing}")
        doc = copy.deepcopy(self.typed_data)
        doc["message"].update(values)
        return doc

    def to_json(self) -> dict[str, Any]:
        """The JSON form the API serves."""
        d = self.description
        out: dict[str, Any] = {
            "operation": d.operation,
            "method": d.method,
            "path": d.path,
            "other_paths": list(d.other_paths),
            "signer": d.signer,
            "submitted_by": d.submitted_by,
            "typed_data": copy.deepcopy(self.typed_data),
            "fields": [vars(f).copy() for f in self.fields],
            "call": None,
            "consent": self.consent.to_json() if self.consent is not None else None,
        }
        if self.call is not None:
            c = self.call
            out["call"] = {
                "contract": c.contract,
                "address": c.address,
                "function": c.function,
                "signature": c.signature,
                "selector": c.selector,
                "arguments": [vars(a).copy() for a in c.arguments],
                "abi": copy.deepcopy(c.abi),
            }
        return out


@dataclass(frozen=True)
class TypedDataCatalogue:
    """Every EIP-712 domain of a deployment and the template of every write."""

    chain_id: int
    domains: dict[str, Domain]  # by contract name
    writes: tuple[WriteTemplate, ...]
    _by_operation: dict[str, WriteTemplate] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_operation = {w.operation: w for w in self.writes}
        if len(by_operation) != len(self.writes):
            names = [w.operation for w in self.writes]
            twice = sorted({n for n in names if names.count(n) > 1})
            raise WriteDescriptionInvalid(f"writes described twice: {twice}")
        object.__setattr__(self, "_by_operation", by_operation)

    def write(self, operation: str) -> WriteTemplate:
        """The template of ``operation``; UnknownWrite when there is none."""
        try:
            return self._by_operation[operation]
        except KeyError:
            raise UnknownWrite(operation, self._by_operation) from None

    def to_json(self) -> dict[str, Any]:
        """The JSON form the API serves."""
        return {
            "chain_id": self.chain_id,
            "domain_type": copy.deepcopy(EIP712_DOMAIN_TYPE),
            "domains": {name: d.as_dict() for name, d in self.domains.items()},
            "writes": [w.to_json() for w in self.writes],
        }


def domains_of(manifest: Manifest) -> dict[str, Domain]:
    """The EIP-712 domain of every contract of ``manifest`` that has one.

    Names and versions are the contracts' own (``ledger_client.deployment.EIP712_DOMAINS``,
    which ``attach`` checks against each contract's code); chain id and addresses are the
    manifest's.
    """
    out = {}
    for contract, (name, version) in EIP712_DOMAINS.items():
        entry = manifest.contracts.get(contract)
        if entry is None:
            raise ManifestError(f"the manifest names no {contract} contract")
        out[contract] = Domain(name, version, manifest.chain_id, entry.address)
    return out


def encode_type(types: Mapping[str, list[dict[str, str]]], primary: str) -> str:
    """EIP-712 ``encodeType``: ``Name(type field,...)`` then referenced struct types, sorted.

    What the contract's ``*_TYPEHASH`` is the keccak256 of; the tests compare the two.
    """
    wanted: set[str] = set()

    def collect(name: str) -> None:
        for member in types[name]:
            base = member["type"].split("[", 1)[0]
            if base in types and base not in wanted and base != primary:
                wanted.add(base)
                collect(base)

    collect(primary)

    def one(name: str) -> str:
        inner = ",".join(f"{m['type']} {m['name']}" for m in types[name])
        return f"{name}({inner})"

    return one(primary) + "".join(one(n) for n in sorted(wanted))


def typed_data_catalogue(
    manifest: Manifest, artifacts: Artifacts, writes: Iterable[WriteDescription]
) -> TypedDataCatalogue:
    """The domains of ``manifest`` and, for each of ``writes``, its typed-data template.

    Raises WriteDescriptionInvalid when a write names a primary type that is not signed
    here, a contract the manifest does not name, a function the contract does not have, a
    number of argument sources other than the function's arity, or an operation twice.
    """
    domains = domains_of(manifest)
    templates = tuple(_template(manifest, artifacts, domains, w) for w in writes)
    return TypedDataCatalogue(manifest.chain_id, domains, templates)


def _template(
    manifest: Manifest, artifacts: Artifacts, domains: dict[str, Domain], w: WriteDescription
) -> WriteTemplate:
    spec = _MESSAGES.get(w.primary_type)
    if spec is None:
        raise WriteDescriptionInvalid(
            f"{w.operation}: {w.primary_type!r} is not one of {', '.join(PRIMARY_TYPES)}"
        )
    call = _call(manifest, artifacts, w) if w.primary_type == "ForwardRequest" else None
    if call is None and (w.contract or w.function or w.arguments or w.consent):
        raise WriteDescriptionInvalid(f"{w.operation}: only a ForwardRequest write names a call")
    typed_data, fields = _typed(spec, w.primary_type, domains, call)
    consent = None
    if w.consent:
        found = _CONSENTS.get(w.consent)
        if found is None:
            raise WriteDescriptionInvalid(
                f"{w.operation}: {w.consent!r} is not one of {', '.join(CONSENT_TYPES)}"
            )
        consent_data, consent_fields = _typed(found, w.consent, domains, None)
        consent = ConsentTemplate(w.consent_signer, consent_data, consent_fields)
    return WriteTemplate(w, typed_data, fields, call, consent)


def _typed(
    spec: _Message, primary: str, domains: dict[str, Domain], call: CallTemplate | None
) -> tuple[dict[str, Any], tuple[MessageField, ...]]:
    """The typed data of ``primary`` with a placeholder per field, and its fields."""
    message: dict[str, Any] = {}
    fields = []
    for member in spec.types[primary]:
        name = member["name"]
        fixed = name in spec.fixed
        source, description = spec.sources[name]
        # The one fixed field is a ForwardRequest's ``to``: the called contract.
        message[name] = call.address if fixed and call is not None else f"<{source}>"
        fields.append(MessageField(name, member["type"], source, description, fixed))
    typed_data = {
        "domain": domains[spec.contract].as_dict(),
        "types": {"EIP712Domain": copy.deepcopy(EIP712_DOMAIN_TYPE), **copy.deepcopy(spec.types)},
        "primaryType": primary,
        "message": message,
    }
    return typed_data, tuple(fields)


def _call(manifest: Manifest, artifacts: Artifacts, w: WriteDescription) -> CallTemplate:
    if w.contract not in manifest.contracts:
        raise WriteDescriptionInvalid(
            f"{w.operation}: the manifest names no {w.contract!r} contract"
        )
    art = artifacts.contract(w.contract)
    if w.function not in art.codec.functions:
        raise WriteDescriptionInvalid(f"{w.operation}: {w.contract} has no function {w.function!r}")
    fn = art.codec.fn(w.function)
    if len(w.arguments) != len(fn.input_types):
        raise WriteDescriptionInvalid(
            f"{w.operation}: {w.contract}.{w.function} takes {len(fn.input_types)} arguments, "
            f"the description gives {len(w.arguments)} sources"
        )
    fragment = next(
        item for item in art.abi if item.get("type") == "function" and item["name"] == w.function
    )
    return CallTemplate(
        contract=w.contract,
        address=to_checksum_address(manifest.contracts[w.contract].address),
        function=w.function,
        signature=f"{w.function}({','.join(fn.input_types)})",
        selector="0x" + fn.selector.hex(),
        arguments=tuple(
            CallArgument(name, typ, source)
            for name, typ, source in zip(fn.input_names, fn.input_types, w.arguments, strict=True)
        ),
        abi=copy.deepcopy(fragment),
    )
