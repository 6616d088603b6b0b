"""Lending: the collateral registry and credit facilities with joint credit agreements.

- :mod:`ledger_client.lending.collateral`: ``CollateralRegistry.sol`` (质押登记): asset
  ids and keys per kind, pledgors' signed consents, pledges, amendments, releases, search;
- :mod:`ledger_client.lending.facilities`: ``CreditFacilities.sol`` (授信, 联合授信):
  facilities, draws, repayments, joint agreements, exposure.
"""

from __future__ import annotations

from .collateral import (
    PLEDGE_TYPES,
    Asset,
    CollateralKind,
    CollateralRegistryContract,
    Pledge,
    PledgeTerms,
    SignedPledge,
    asset_id,
    equity_key,
    ip_key,
    movable_key,
    pledge_id,
)
from .facilities import (
    ACCEPT_TYPES,
    AgreementStatus,
    CreditFacilitiesContract,
    Exposure,
    Facility,
    FacilityKind,
    FacilityStatus,
    JointAgreement,
    SignedAcceptance,
    facility_id,
)

__all__ = [
    "ACCEPT_TYPES",
    "PLEDGE_TYPES",
    "AgreementStatus",
    "Asset",
    "CollateralKind",
    "CollateralRegistryContract",
    "CreditFacilitiesContract",
    "Exposure",
    "Facility",
    "FacilityKind",
    "FacilityStatus",
    "JointAgreement",
    "Pledge",
    "PledgeTerms",
    "SignedAcceptance",
    "SignedPledge",
    "asset_id",
    "equity_key",
    "facility_id",
    "ip_key",
    "movable_key",
    "pledge_id",
]
