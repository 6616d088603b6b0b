// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";

import {IAttestations} from "./IAttestations.sol";
import {CollateralKind, ICollateralRegistry, collateralAssetId} from "./ICollateralRegistry.sol";
import {IConsortium} from "./IConsortium.sol";
import {IReceivables} from "./IReceivables.sol";
import {ROLE_FINANCIER} from "./Common.sol";

/// @title Receivables
/// @notice Issue, accept, split, transfer, finance, settle and default of supply-chain receivables.
/// @dev Enterprises are stored as 4-byte party numbers assigned on first appearance, so a
/// part (holder, amount, parent, status) fits one storage slot and a split writes one new slot.
/// The acting party is `_msgSender()` (ERC-2771): the caller, or the signer of a request relayed
/// by the chain's Forwarder.
contract Receivables is IReceivables, ERC2771Context {
    uint256 private constant _PART_BITS = 24;
    uint256 private constant _PART_MASK = (1 << _PART_BITS) - 1;
    uint256 private constant _MAX_INVOICES = 32;
    uint16 private constant _MAX_DISCOUNT_BPS = 10_000;
    uint24 private constant _MAX_PARTS = 256;

    IConsortium private immutable _consortium;
    IAttestations private immutable _attestations;
    bytes32 private immutable _defaultSchema;
    uint40 private immutable _gracePeriod;
    ICollateralRegistry private immutable _collateral;

    uint64 private _receivableCount;
    uint32 private _partyCount;
    mapping(bytes32 subject => uint32 party) private _partyOf;
    mapping(uint32 party => bytes32 subject) private _subjectOf;
    mapping(bytes32 rootId => Terms terms) private _terms;
    mapping(bytes32 id => Part part) private _parts;
    mapping(bytes32 id => Financing financing) private _financings;
    mapping(bytes32 id => mapping(address financier => FinancingRequest request)) private _requests;
    mapping(bytes32 id => bytes32 uid) private _defaults;
    mapping(bytes32 invoiceKey => bytes32 id) private _invoices;

    /// @param consortium_ The consortium contract that says who may act.
    /// @param attestations_ The attestation contract defaults are attested in; this contract
    /// must be a consortium member with the attester role there.
    /// @param defaultSchema_ The id of the registered `receivable-default` schema.
    /// @param gracePeriod_ Seconds after the due date before an unpaid part can be marked
    /// overdue (the deployment uses 15 days).
    /// @param collateral_ The collateral registry: a part pledged there is not financed or moved.
    /// @param forwarder_ The Forwarder (IForwarder.sol) whose relayed requests act for their signer.
    constructor(
        IConsortium consortium_,
        IAttestations attestations_,
        bytes32 defaultSchema_,
        uint40 gracePeriod_,
        ICollateralRegistry collateral_,
        address forwarder_
    ) ERC2771Context(forwarder_) {
        _consortium = consortium_;
        _attestations = attestations_;
        _defaultSchema = defaultSchema_;
        _gracePeriod = gracePeriod_;
        _collateral = collateral_;
    }

    /// @inheritdoc IReceivables
    function issue(
        address supplier,
        uint64 amount,
        uint40 dueDate,
        bytes32 contractHash,
        bytes32[] calldata invoiceCommitments
    ) external returns (bytes32 id) {
        bytes32 debtorSubject = _consortium.requireEnterprise(_msgSender());
        bytes32 supplierSubject = _consortium.requireEnterprise(supplier);
        if (supplierSubject == debtorSubject) revert ReceivablesInvalidRecipient(supplier);
        if (amount == 0) revert ReceivablesInvalidAmount(amount, type(uint64).max);
        if (dueDate <= block.timestamp) revert ReceivablesInvalidDueDate(dueDate, block.timestamp);
        if (contractHash == bytes32(0)) revert ReceivablesInvalidHash(contractHash);
        uint256 count = invoiceCommitments.length;
        if (count == 0 || count > _MAX_INVOICES) revert ReceivablesInvalidInvoices(count);
        id = bytes32(uint256(++_receivableCount) << _PART_BITS);
        for (uint256 i; i < count; ++i) {
            bytes32 commitment = invoiceCommitments[i];
            if (commitment == bytes32(0)) revert ReceivablesInvalidHash(commitment);
            bytes32 key = _invoiceKey(debtorSubject, commitment);
            bytes32 existing = _invoices[key];
            if (existing != bytes32(0)) revert ReceivablesDuplicateInvoice(commitment, existing);
            _invoices[key] = id;
        }
        _terms[id] = Terms({
            debtor: _party(debtorSubject),
            faceValue: amount,
            dueDate: dueDate,
            issuedAt: uint40(block.timestamp),
            partCount: 1,
            invoiceCount: uint8(count),
            contractHash: contractHash
        });
        _parts[id] = Part({holder: _party(supplierSubject), amount: amount, parent: 0, status: Status.Pending});
        emit ReceivableIssued(id, debtorSubject, supplierSubject, amount, dueDate, contractHash, invoiceCommitments);
    }

    /// @inheritdoc IReceivables
    function accept(bytes32 id) external {
        Part storage p = _existing(id);
        bytes32 supplier = _requireHolder(id, p);
        if (p.status != Status.Pending) revert ReceivablesWrongStatus(id, p.status);
        p.status = Status.Active;
        emit ReceivableAccepted(id, supplier);
    }

    /// @inheritdoc IReceivables
    function reject(bytes32 id, bytes32[] calldata releasedInvoices) external {
        Part storage p = _existing(id);
        bytes32 supplier = _requireHolder(id, p);
        if (p.status != Status.Pending) revert ReceivablesWrongStatus(id, p.status);
        p.status = Status.Rejected;
        bytes32 debtorSubject = _subjectOf[_terms[id].debtor];
        for (uint256 i; i < releasedInvoices.length; ++i) {
            bytes32 commitment = releasedInvoices[i];
            bytes32 key = _invoiceKey(debtorSubject, commitment);
            if (_invoices[key] != id) revert ReceivablesInvoiceMismatch(id, commitment);
            delete _invoices[key];
        }
        emit ReceivableRejected(id, supplier, releasedInvoices);
    }

    /// @inheritdoc IReceivables
    function transfer(bytes32 id, address to) external {
        Part storage p = _existing(id);
        Terms storage t = _terms[_rootOf(id)];
        bytes32 from = _requireHolder(id, p);
        _requireMovable(id, p, t);
        (uint32 recipient, bytes32 toSubject) = _recipient(to, t.debtor, p.holder);
        p.holder = recipient;
        emit ReceivableTransferred(id, from, toSubject, p.amount);
    }

    /// @inheritdoc IReceivables
    function split(bytes32 id, address to, uint64 amount) external returns (bytes32 child) {
        Part storage p = _existing(id);
        bytes32 rootId = _rootOf(id);
        Terms storage t = _terms[rootId];
        bytes32 from = _requireHolder(id, p);
        _requireMovable(id, p, t);
        uint64 available = p.amount;
        if (amount == 0 || amount >= available) revert ReceivablesInvalidAmount(amount, available - 1);
        (uint32 recipient, bytes32 toSubject) = _recipient(to, t.debtor, p.holder);
        uint24 index = t.partCount;
        if (index >= _MAX_PARTS) revert ReceivablesTooManyParts(rootId, _MAX_PARTS);
        t.partCount = index + 1;
        child = rootId | bytes32(uint256(index));
        uint64 remaining = available - amount;
        p.amount = remaining;
        _parts[child] =
            Part({holder: recipient, amount: amount, parent: uint24(uint256(id) & _PART_MASK), status: Status.Active});
        emit ReceivableSplit(id, child, toSubject, from, amount, remaining);
    }

    /// @inheritdoc IReceivables
    function requestFinancing(
        bytes32 id,
        address financier,
        uint64 minAdvance,
        uint16 maxDiscountBps,
        uint40 expiresAt
    ) external {
        Part storage p = _existing(id);
        bytes32 holder = _requireHolder(id, p);
        _requireMovable(id, p, _terms[_rootOf(id)]);
        _consortium.requireRole(financier, ROLE_FINANCIER);
        uint64 amount = p.amount;
        if (minAdvance == 0 || minAdvance > amount) revert ReceivablesInvalidAmount(minAdvance, amount);
        if (maxDiscountBps > _MAX_DISCOUNT_BPS) revert ReceivablesInvalidDiscount(maxDiscountBps);
        if (expiresAt <= block.timestamp) revert ReceivablesInvalidExpiry(expiresAt, block.timestamp);
        _requests[id][financier] = FinancingRequest({
            holder: p.holder, minAdvance: minAdvance, maxDiscountBps: maxDiscountBps, expiresAt: expiresAt
        });
        emit FinancingRequested(id, holder, financier, minAdvance, maxDiscountBps, expiresAt);
    }

    /// @inheritdoc IReceivables
    function withdrawFinancingRequest(bytes32 id, address financier) external {
        Part storage p = _existing(id);
        bytes32 holder = _requireHolder(id, p);
        if (_requests[id][financier].holder != p.holder) revert ReceivablesNoFinancingRequest(id, financier);
        delete _requests[id][financier];
        emit FinancingRequestWithdrawn(id, holder, financier);
    }

    /// @inheritdoc IReceivables
    function finance(bytes32 id, uint64 advance, uint16 discountBps) external {
        address financier = _msgSender();
        _consortium.requireRole(financier, ROLE_FINANCIER);
        Part storage p = _existing(id);
        _requireMovable(id, p, _terms[_rootOf(id)]);
        uint32 holder = p.holder;
        FinancingRequest memory request = _requests[id][financier];
        if (request.holder != holder) revert ReceivablesNoFinancingRequest(id, financier);
        if (block.timestamp > request.expiresAt) {
            revert ReceivablesFinancingRequestExpired(id, financier, request.expiresAt);
        }
        if (advance > p.amount) revert ReceivablesInvalidAmount(advance, p.amount);
        if (advance < request.minAdvance || discountBps > request.maxDiscountBps) {
            revert ReceivablesTermsNotAgreed(id, financier, advance, discountBps);
        }
        delete _requests[id][financier];
        p.status = Status.Financed;
        _financings[id] = Financing({financier: financier, advance: advance, discountBps: discountBps});
        emit ReceivableFinanced(id, financier, _subjectOf[holder], advance, discountBps);
    }

    /// @inheritdoc IReceivables
    function releaseFinancing(bytes32 id) external {
        Part storage p = _existing(id);
        address financier = _financings[id].financier;
        if (financier == address(0)) revert ReceivablesNotFinanced(id);
        address sender = _msgSender();
        if (sender != financier) revert ReceivablesNotFinancier(id, sender, financier);
        _consortium.requireRole(sender, ROLE_FINANCIER);
        Status status = p.status;
        if (status == Status.Paid) revert ReceivablesWrongStatus(id, status);
        delete _financings[id];
        if (status == Status.Financed) p.status = Status.Active;
        emit FinancingReleased(id, financier, _subjectOf[p.holder]);
    }

    /// @inheritdoc IReceivables
    function settle(bytes32[] calldata ids) external {
        address sender = _msgSender();
        bytes32 debtorSubject = _consortium.requireEnterprise(sender);
        uint32 debtor = _partyOf[debtorSubject];
        for (uint256 i; i < ids.length; ++i) {
            bytes32 id = ids[i];
            Part storage p = _existing(id);
            Terms storage t = _terms[_rootOf(id)];
            if (debtor == 0 || t.debtor != debtor) revert ReceivablesNotDebtor(id, sender);
            Status status = p.status;
            if (status != Status.Active && status != Status.Financed && status != Status.Overdue) {
                revert ReceivablesWrongStatus(id, status);
            }
            uint40 dueDate = t.dueDate;
            if (block.timestamp < dueDate) revert ReceivablesNotDue(id, dueDate);
            p.status = Status.Paid;
            // Only a Financed or Overdue part can still have a financing: release deletes it.
            address financier = status == Status.Active ? address(0) : _financings[id].financier;
            emit ReceivableSettled(id, debtorSubject, _subjectOf[p.holder], financier, p.amount);
        }
    }

    /// @inheritdoc IReceivables
    function markOverdue(bytes32 id) external returns (bytes32 attestation) {
        Part storage p = _existing(id);
        address financier = _financings[id].financier;
        address payee = _msgSender();
        if (financier != address(0)) {
            if (payee != financier) revert ReceivablesNotPayee(id, payee);
            _consortium.requireRole(payee, ROLE_FINANCIER);
        } else if (_partyOf[_consortium.requireEnterprise(payee)] != p.holder) {
            revert ReceivablesNotPayee(id, payee);
        }
        Status status = p.status;
        if (status != Status.Active && status != Status.Financed) revert ReceivablesWrongStatus(id, status);
        Terms storage t = _terms[_rootOf(id)];
        uint40 dueDate = t.dueDate;
        uint256 overdueFrom = uint256(dueDate) + _gracePeriod;
        if (block.timestamp <= overdueFrom) revert ReceivablesNotOverdue(id, overdueFrom);
        uint32 daysOverdue = uint32((block.timestamp - dueDate) / 1 days);
        bytes32 debtorSubject = _subjectOf[t.debtor];
        uint64 amount = p.amount;
        p.status = Status.Overdue;
        bytes32 dataHash = keccak256(abi.encode(debtorSubject, id, amount, dueDate, daysOverdue));
        attestation = _attestations.attest(_defaultSchema, debtorSubject, dataHash, 0, bytes32(0));
        _defaults[id] = attestation;
        emit ReceivableMarkedOverdue(id, debtorSubject, attestation, payee, amount, dueDate, daysOverdue);
    }

    /// @inheritdoc IReceivables
    function receivable(bytes32 id) external view returns (ReceivableView memory v) {
        Part memory p = _parts[id];
        if (p.holder == 0) return v;
        bytes32 rootId = _rootOf(id);
        Terms storage t = _terms[rootId];
        Financing memory f = _financings[id];
        v = ReceivableView({
            root: rootId,
            parent: rootId == id ? bytes32(0) : rootId | bytes32(uint256(p.parent)),
            debtor: _subjectOf[t.debtor],
            holder: _subjectOf[p.holder],
            amount: p.amount,
            dueDate: t.dueDate,
            status: p.status,
            financier: f.financier,
            advance: f.advance,
            discountBps: f.discountBps,
            defaultAttestation: _defaults[id]
        });
    }

    /// @inheritdoc IReceivables
    function terms(bytes32 id) external view returns (TermsView memory v) {
        Terms storage t = _terms[_rootOf(id)];
        if (t.debtor == 0) return v;
        v = TermsView({
            debtor: _subjectOf[t.debtor],
            faceValue: t.faceValue,
            dueDate: t.dueDate,
            issuedAt: t.issuedAt,
            partCount: t.partCount,
            invoiceCount: t.invoiceCount,
            contractHash: t.contractHash
        });
    }

    /// @inheritdoc IReceivables
    function parts(bytes32 id, uint256 offset, uint256 limit) external view returns (bytes32[] memory ids) {
        bytes32 rootId = _rootOf(id);
        uint256 count = _terms[rootId].partCount;
        uint256 n = offset < count ? count - offset : 0;
        if (limit < n) n = limit;
        ids = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            ids[i] = rootId | bytes32(offset + i);
        }
    }

    /// @inheritdoc IReceivables
    function lineage(bytes32 id) external view returns (bytes32[] memory ids) {
        _existing(id);
        bytes32 rootId = _rootOf(id);
        uint256 depth = 1;
        for (bytes32 at = id; at != rootId; at = rootId | bytes32(uint256(_parts[at].parent))) ++depth;
        ids = new bytes32[](depth);
        bytes32 cursor = id;
        for (uint256 i; i < depth; ++i) {
            ids[i] = cursor;
            cursor = rootId | bytes32(uint256(_parts[cursor].parent));
        }
    }

    /// @inheritdoc IReceivables
    function balanceOf(bytes32 id) external view returns (Balance memory b) {
        bytes32 rootId = _rootOf(id);
        Terms storage t = _terms[rootId];
        uint256 count = t.partCount;
        b.faceValue = t.faceValue;
        for (uint256 i; i < count; ++i) {
            Part memory p = _parts[rootId | bytes32(i)];
            b.partsTotal += p.amount;
            if (p.status == Status.Paid) {
                b.paid += p.amount;
            } else if (p.status == Status.Active || p.status == Status.Financed || p.status == Status.Overdue) {
                b.outstanding += p.amount;
            }
        }
    }

    /// @inheritdoc IReceivables
    function receivableOfInvoice(bytes32 debtor, bytes32 invoiceCommitment) external view returns (bytes32) {
        return _invoices[_invoiceKey(debtor, invoiceCommitment)];
    }

    /// @inheritdoc IReceivables
    function financingRequested(bytes32 id, address financier) external view returns (bool) {
        uint32 holder = _parts[id].holder;
        FinancingRequest memory request = _requests[id][financier];
        return holder != 0 && request.holder == holder && block.timestamp <= request.expiresAt;
    }

    /// @inheritdoc IReceivables
    function financingRequest(bytes32 id, address financier) external view returns (FinancingTerms memory t) {
        uint32 holder = _parts[id].holder;
        FinancingRequest memory request = _requests[id][financier];
        if (holder == 0 || request.holder != holder) return t;
        t = FinancingTerms({
            minAdvance: request.minAdvance, maxDiscountBps: request.maxDiscountBps, expiresAt: request.expiresAt
        });
    }

    /// @inheritdoc IReceivables
    function maxParts() external pure returns (uint256) {
        return _MAX_PARTS;
    }

    /// @inheritdoc IReceivables
    function receivableCount() external view returns (uint256) {
        return _receivableCount;
    }

    /// @inheritdoc IReceivables
    function gracePeriod() external view returns (uint40) {
        return _gracePeriod;
    }

    /// @inheritdoc IReceivables
    function defaultSchema() external view returns (bytes32) {
        return _defaultSchema;
    }

    /// @inheritdoc IReceivables
    function consortium() external view returns (address) {
        return address(_consortium);
    }

    /// @inheritdoc IReceivables
    function attestations() external view returns (address) {
        return address(_attestations);
    }

    /// @inheritdoc IReceivables
    function collateral() external view returns (address) {
        return address(_collateral);
    }

    /// @inheritdoc IReceivables
    function collateralState(bytes32 id) external view returns (bytes32 holder, Status status, address financier) {
        Part memory p = _parts[id];
        return (_subjectOf[p.holder], p.status, _financings[id].financier);
    }

    /// @dev The party number of `subject`, assigned on its first appearance.
    function _party(bytes32 subject) private returns (uint32 party) {
        party = _partyOf[subject];
        if (party == 0) {
            party = ++_partyCount;
            _partyOf[subject] = party;
            _subjectOf[party] = subject;
        }
    }

    /// @dev The part `id`; reverts when there is none.
    function _existing(bytes32 id) private view returns (Part storage p) {
        p = _parts[id];
        if (p.holder == 0) revert ReceivablesUnknown(id);
    }

    /// @dev Reverts unless the caller is the bound account of the part's holder; returns its subject.
    function _requireHolder(bytes32 id, Part storage p) private view returns (bytes32 subject) {
        address sender = _msgSender();
        subject = _consortium.requireEnterprise(sender);
        if (_partyOf[subject] != p.holder) revert ReceivablesNotHolder(id, sender);
    }

    /// @dev Reverts unless the part is Active (not financed, not settled) and not yet due.
    function _requireMovable(bytes32 id, Part storage p, Terms storage t) private view {
        Status status = p.status;
        if (status == Status.Financed) revert ReceivablesAlreadyFinanced(id, _financings[id].financier);
        if (status != Status.Active) revert ReceivablesWrongStatus(id, status);
        uint40 dueDate = t.dueDate;
        if (block.timestamp >= dueDate) revert ReceivablesMatured(id, dueDate);
        // One asset, one lien: a part pledged in the registry neither moves nor is financed.
        bytes32 assetId = collateralAssetId(CollateralKind.Receivable, id);
        address pledgee = _collateral.activePledgee(assetId);
        if (pledgee != address(0)) revert ICollateralRegistry.CollateralAlreadyPledged(assetId, pledgee);
    }

    /// @dev The party number and subject of a recipient: a bound enterprise other than the
    /// debtor and the current holder.
    function _recipient(address to, uint32 debtor, uint32 holder) private returns (uint32 party, bytes32 subject) {
        subject = _consortium.requireEnterprise(to);
        party = _party(subject);
        if (party == debtor || party == holder) revert ReceivablesInvalidRecipient(to);
    }

    /// @dev Where an invoice commitment is recorded: keyed by its debtor, so no one else can take it.
    function _invoiceKey(bytes32 debtorSubject, bytes32 commitment) private pure returns (bytes32) {
        return keccak256(abi.encode(debtorSubject, commitment));
    }

    /// @dev The id of the issued receivable a part belongs to.
    function _rootOf(bytes32 id) private pure returns (bytes32) {
        return id & ~bytes32(_PART_MASK);
    }
}
