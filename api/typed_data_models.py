"""Models of ``GET /v1/typed-data``: EIP-712 domains and, per write, the typed data to sign.

Field names inside ``typed_data`` are EIP-712's own (``primaryType``, ``chainId``,
``verifyingContract``), so the object can be handed to ``eth_signTypedData_v4`` as it is,
once its placeholders are filled.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _EIP712(BaseModel):
    # Serialised by EIP-712's names: what a wallet takes.
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class DomainPublic(_EIP712):
    """An EIP-712 domain: one contract of this deployment."""

    name: str = Field(examples=["YRD Credit Forwarder"])
    version: str = Field(examples=["1"])
    chain_id: int = Field(alias="chainId")
    verifying_contract: str = Field(alias="verifyingContract", description="checksum address")


class TypedDataPublic(_EIP712):
    """``{domain, types, primaryType, message}``, as ``eth_signTypedData_v4`` takes it.

    ``types`` includes ``EIP712Domain`` (some libraries, ethers among them, want it left
    out: they derive it from ``domain``). A message value ``"<source>"`` is a placeholder:
    ``fields`` says what goes there.
    """

    domain: DomainPublic
    types: dict[str, list[dict[str, str]]]
    primary_type: str = Field(alias="primaryType")
    message: dict[str, Any]


class MessageFieldPublic(BaseModel):
    """One field of the message: its EIP-712 type, where its value comes from, and whether
    the template already holds it."""

    name: str
    type: str
    source: str = Field(description="body.<field>, calldata, call.address, schema id, ...")
    description: str
    fixed: bool = Field(description="true: the template holds the value; false: a placeholder")


class CallArgumentPublic(BaseModel):
    """One argument of a relayed call, in the function's order."""

    name: str
    type: str = Field(description="canonical ABI type, tuples spelled out")
    source: str = Field(description="where the value comes from: path <param> or body.<field>")


class CallPublic(BaseModel):
    """How a ForwardRequest's ``data`` is built: ``selector`` then ``abi.encode(arguments)``."""

    contract: str
    address: str
    function: str
    signature: str = Field(examples=["finance(bytes32,uint64,uint16)"])
    selector: str
    arguments: list[CallArgumentPublic]
    abi: dict[str, Any] = Field(description="the function's ABI fragment")


class ConsentPublic(BaseModel):
    """Another party's signed consent the relayed call carries as an argument: a pledgor's
    ``Pledge``, an enterprise's ``AcceptAgreement``."""

    signer: str
    typed_data: TypedDataPublic
    fields: list[MessageFieldPublic]


class WriteTypedDataPublic(BaseModel):
    """One write: its route, who signs it, who may hand it in, and what is signed."""

    operation: str = Field(description="as submissions name it, e.g. receivables.finance")
    method: str
    path: str
    other_paths: list[str] = Field(description="routes taking a list of the same message")
    signer: str
    submitted_by: str = Field(description="whose API key may hand it in")
    typed_data: TypedDataPublic
    fields: list[MessageFieldPublic]
    call: CallPublic | None = Field(description="ForwardRequest writes: the call signed")
    consent: ConsentPublic | None = Field(
        default=None, description="the consent of another party the call carries, if any"
    )


class TypedDataCataloguePublic(BaseModel):
    """Every EIP-712 domain of the deployment and the typed data of every write."""

    chain_id: int
    domain_type: list[dict[str, str]] = Field(description="the EIP712Domain type, in order")
    domains: dict[str, DomainPublic] = Field(description="by contract name")
    writes: list[WriteTypedDataPublic]
