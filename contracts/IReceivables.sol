// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Supply-chain receivables (应收账款)
/// @notice A core enterprise (the debtor) issues a confirmed payable to a supplier; the
/// supplier accepts it; holders pass it, whole or in parts, down the supplier tiers; a
/// holder finances a part with a member bank (保理 / 质押), which then is its payee; at
/// maturity the debtor settles; a part left unpaid past its due date plus a grace period is
/// marked overdue by its payee, which writes a `receivable-default` credit attestation about
/// the debtor.
///
/// Identities. Enterprises act with their bound accounts and are recorded by subject id
/// (the consortium's keyed hash of their USCC), so a registrar's rebinding of a lost key
/// carries their receivables over to the new account. Banks are member accounts.
///
/// Ids. A receivable id is `bytes32(seq << 24 | part)`: `seq` counts issues from 1 and
/// `part` is 0 for the issued receivable itself and 1, 2, ... for the parts split off it,
/// in order. The receivable a part belongs to is its id with the low 24 bits cleared. A
/// receivable has at most `maxParts()` parts (256), so every view of its parts is bounded.
///
/// Invoices. The chain never sees an invoice's plain hash. The debtor commits to each
/// invoice as `keccak256(abi.encode(bytes32 invoiceHash, bytes32 salt))` with a 32-byte salt
/// it keeps, and the chain keys it by `keccak256(abi.encode(bytes32 debtorSubject, bytes32
/// commitment))`: a commitment backs one receivable of its debtor ever, and no other
/// enterprise can occupy (squat) a debtor's key, whatever it knows of the invoice.
///
/// Financing terms. The holder's request names the bank, the least advance, the highest
/// discount and an expiry; the bank finances within those terms or not at all.
///
/// Amounts. A split moves `amount` fen from a part to a new child part, so the amounts of
/// all parts of a receivable always add up to its face value (`balanceOf` shows it); a
/// part is settled whole. Money moves off chain: the chain records who is owed what and
/// that it was paid.
interface IReceivables {
    /// @notice Where a part stands.
    enum Status {
        None, // no such receivable
        Pending, // issued, awaiting the supplier's acceptance (only an issued receivable)
        Rejected, // refused by the supplier; it never moves
        Active, // accepted and held: may be transferred, split, financed, settled
        Financed, // a bank advanced against it and is its payee; it cannot move
        Paid, // settled by the debtor
        Overdue // marked unpaid past due date plus grace; still settleable
    }

    /// @notice One part, as stored: one slot.
    struct Part {
        uint32 holder; // party number (see `_partyOf`) of the enterprise holding it
        uint64 amount; // fen
        uint24 parent; // part number of the part it was split from (0 for the issue itself)
        Status status; // where it stands
    }

    /// @notice What is stored for an issued receivable: its terms, shared by all its parts.
    struct Terms {
        uint32 debtor; // party number of the core enterprise that owes it
        uint64 faceValue; // fen; what all parts add up to
        uint40 dueDate; // UNIX seconds of maturity
        uint40 issuedAt; // UNIX seconds
        uint24 partCount; // parts so far, the issued receivable included
        uint8 invoiceCount; // invoice commitments it was issued with
        bytes32 contractHash; // keccak256 of the trade contract (off chain)
    }

    /// @notice A holder's request to one bank, as stored: one slot.
    struct FinancingRequest {
        uint32 holder; // party number of the holder that asked; the request lapses when the part changes hands
        uint64 minAdvance; // fen: the least advance the holder agreed to
        uint16 maxDiscountBps; // basis points: the highest discount rate the holder agreed to
        uint40 expiresAt; // UNIX seconds: the last moment the bank may finance on it
    }

    /// @notice The terms of a live request as the contract reports them (all 0 when none).
    struct FinancingTerms {
        uint64 minAdvance; // fen
        uint16 maxDiscountBps; // basis points
        uint40 expiresAt; // UNIX seconds
    }

    /// @notice A financing, as stored: one slot.
    struct Financing {
        address financier; // the bank that advanced; 0 when none or released
        uint64 advance; // fen advanced to the holder
        uint16 discountBps; // discount rate in basis points (1/100 of a percent)
    }

    /// @notice A part as the contract reports it.
    struct ReceivableView {
        bytes32 root; // the issued receivable it belongs to (itself for the issue)
        bytes32 parent; // the part it was split from; 0 for the issue itself
        bytes32 debtor; // subject id of the debtor
        bytes32 holder; // subject id of the holder
        uint64 amount; // fen
        uint40 dueDate; // UNIX seconds of maturity
        Status status; // where it stands
        address financier; // the bank that financed it; 0 when none (or released)
        uint64 advance; // fen advanced; 0 when not financed
        uint16 discountBps; // basis points; 0 when not financed
        bytes32 defaultAttestation; // UID of the receivable-default attestation; 0 until marked overdue
    }

    /// @notice The terms of an issued receivable as the contract reports them.
    struct TermsView {
        bytes32 debtor; // subject id of the debtor
        uint64 faceValue; // fen
        uint40 dueDate; // UNIX seconds
        uint40 issuedAt; // UNIX seconds
        uint24 partCount; // parts so far, the issued receivable included
        uint8 invoiceCount; // invoice commitments it was issued with
        bytes32 contractHash; // keccak256 of the trade contract
    }

    /// @notice How the parts of an issued receivable add up.
    struct Balance {
        uint64 faceValue; // fen issued
        uint64 partsTotal; // sum over every part; always equals faceValue
        uint64 outstanding; // sum over Active, Financed and Overdue parts
        uint64 paid; // sum over Paid parts
    }

    /// @notice A core enterprise issued a receivable to a supplier.
    event ReceivableIssued(
        bytes32 indexed id,
        bytes32 indexed debtor,
        bytes32 indexed supplier,
        uint64 amount,
        uint40 dueDate,
        bytes32 contractHash,
        bytes32[] invoiceCommitments
    );
    /// @notice The supplier accepted the receivable.
    event ReceivableAccepted(bytes32 indexed id, bytes32 indexed supplier);
    /// @notice The supplier rejected the receivable and released the invoices listed.
    event ReceivableRejected(bytes32 indexed id, bytes32 indexed supplier, bytes32[] releasedInvoices);
    /// @notice A holder transferred a whole part to another enterprise.
    event ReceivableTransferred(bytes32 indexed id, bytes32 indexed from, bytes32 indexed to, uint64 amount);
    /// @notice A holder split `amount` off a part into a new part held by `to`.
    event ReceivableSplit(
        bytes32 indexed id, bytes32 indexed child, bytes32 indexed to, bytes32 from, uint64 amount, uint64 remaining
    );
    /// @notice A holder asked a bank to finance a part on these terms, until `expiresAt`.
    event FinancingRequested(
        bytes32 indexed id,
        bytes32 indexed holder,
        address indexed financier,
        uint64 minAdvance,
        uint16 maxDiscountBps,
        uint40 expiresAt
    );
    /// @notice A holder withdrew its request to a bank.
    event FinancingRequestWithdrawn(bytes32 indexed id, bytes32 indexed holder, address indexed financier);
    /// @notice A bank financed a part and became its payee.
    event ReceivableFinanced(
        bytes32 indexed id, address indexed financier, bytes32 indexed holder, uint64 advance, uint16 discountBps
    );
    /// @notice A bank, repaid, released its financing: the holder is the payee again.
    event FinancingReleased(bytes32 indexed id, address indexed financier, bytes32 indexed holder);
    /// @notice The debtor settled a part: paid to the financier when there is one, else to the holder.
    event ReceivableSettled(
        bytes32 indexed id, bytes32 indexed debtor, bytes32 indexed holder, address financier, uint64 amount
    );
    /// @notice A payee marked a part overdue; `attestation` is the default attested about the debtor.
    event ReceivableMarkedOverdue(
        bytes32 indexed id,
        bytes32 indexed debtor,
        bytes32 indexed attestation,
        address payee,
        uint64 amount,
        uint40 dueDate,
        uint32 daysOverdue
    );

    /// @notice No receivable has this id.
    /// @custom:kind not_found
    error ReceivablesUnknown(bytes32 id);
    /// @notice The amount is zero or above `limit` (fen).
    /// @custom:kind invalid
    error ReceivablesInvalidAmount(uint256 amount, uint256 limit);
    /// @notice The due date is not in the future.
    /// @custom:kind invalid
    error ReceivablesInvalidDueDate(uint40 dueDate, uint256 now);
    /// @notice A contract hash or invoice commitment is zero.
    /// @custom:kind invalid
    error ReceivablesInvalidHash(bytes32 hash);
    /// @notice A receivable needs between 1 and 32 invoice commitments.
    /// @custom:kind invalid
    error ReceivablesInvalidInvoices(uint256 count);
    /// @notice The debtor's invoice commitment already backs a receivable.
    /// @custom:kind conflict
    error ReceivablesDuplicateInvoice(bytes32 invoiceCommitment, bytes32 receivableId);
    /// @notice The invoice commitment does not back this receivable.
    /// @custom:kind invalid
    error ReceivablesInvoiceMismatch(bytes32 id, bytes32 invoiceCommitment);
    /// @notice The recipient is the debtor itself or the party already holding it.
    /// @custom:kind invalid
    error ReceivablesInvalidRecipient(address account);
    /// @notice The discount rate is above 10,000 basis points.
    /// @custom:kind invalid
    error ReceivablesInvalidDiscount(uint16 discountBps);
    /// @notice Only the holder may do this.
    /// @custom:kind forbidden
    error ReceivablesNotHolder(bytes32 id, address account);
    /// @notice Only the debtor may settle.
    /// @custom:kind forbidden
    error ReceivablesNotDebtor(bytes32 id, address account);
    /// @notice Only the payee (the financier when financed, else the holder) may mark it overdue.
    /// @custom:kind forbidden
    error ReceivablesNotPayee(bytes32 id, address account);
    /// @notice Only the bank that financed it may release the financing.
    /// @custom:kind forbidden
    error ReceivablesNotFinancier(bytes32 id, address account, address financier);
    /// @notice The holder has not asked this bank to finance it.
    /// @custom:kind forbidden
    error ReceivablesNoFinancingRequest(bytes32 id, address financier);
    /// @notice The holder's request to this bank expired at `expiresAt`.
    /// @custom:kind conflict
    error ReceivablesFinancingRequestExpired(bytes32 id, address financier, uint40 expiresAt);
    /// @notice The advance is below, or the discount above, what the holder's request agreed to.
    /// @custom:kind forbidden
    error ReceivablesTermsNotAgreed(bytes32 id, address financier, uint64 advance, uint16 discountBps);
    /// @notice A request's expiry is not in the future.
    /// @custom:kind invalid
    error ReceivablesInvalidExpiry(uint40 expiresAt, uint256 now);
    /// @notice The part is financed: it cannot be financed again, transferred or split.
    /// @custom:kind conflict
    error ReceivablesAlreadyFinanced(bytes32 id, address financier);
    /// @notice The part is not financed.
    /// @custom:kind conflict
    error ReceivablesNotFinanced(bytes32 id);
    /// @notice The part's status does not allow this.
    /// @custom:kind conflict
    error ReceivablesWrongStatus(bytes32 id, Status status);
    /// @notice The receivable has matured: it no longer moves and cannot be financed.
    /// @custom:kind conflict
    error ReceivablesMatured(bytes32 id, uint40 dueDate);
    /// @notice The receivable is not due yet.
    /// @custom:kind conflict
    error ReceivablesNotDue(bytes32 id, uint40 dueDate);
    /// @notice The grace period has not run out: it can be marked overdue after `overdueFrom`.
    /// @custom:kind conflict
    error ReceivablesNotOverdue(bytes32 id, uint256 overdueFrom);
    /// @notice The receivable has `maxParts` parts already: none can be split off it.
    /// @custom:kind conflict
    error ReceivablesTooManyParts(bytes32 id, uint256 maxParts);

    /// @notice Issue a receivable to a supplier; the caller, a bound enterprise, is the debtor.
    /// @dev Each commitment may back one receivable of this debtor, ever (unless released by a
    /// rejection); it is keyed by the debtor, so another enterprise's issue never blocks it.
    /// @param supplier The supplier's bound account.
    /// @param amount Face value in fen.
    /// @param dueDate UNIX seconds of maturity; in the future.
    /// @param contractHash keccak256 of the trade contract.
    /// @param invoiceCommitments 1 to 32 invoice commitments,
    /// `keccak256(abi.encode(invoiceHash, salt))` each, the salt kept by the debtor.
    /// @return id The new receivable's id.
    function issue(
        address supplier,
        uint64 amount,
        uint40 dueDate,
        bytes32 contractHash,
        bytes32[] calldata invoiceCommitments
    ) external returns (bytes32 id);

    /// @notice Accept a pending receivable (its supplier only). Only accepted receivables move.
    function accept(bytes32 id) external;

    /// @notice Reject a pending receivable (its supplier only), releasing the invoice
    /// commitments listed so the debtor can issue again against them; those not listed stay spent.
    function reject(bytes32 id, bytes32[] calldata releasedInvoices) external;

    /// @notice Transfer a whole part to another enterprise (holder only; Active, before maturity).
    function transfer(bytes32 id, address to) external;

    /// @notice Transfer `amount` fen of a part to another enterprise as a new child part;
    /// the holder keeps the rest (holder only; Active, before maturity; fewer than
    /// `maxParts()` parts so far).
    /// @param amount Fen to move: more than 0, less than the part's amount.
    /// @return child The new part's id.
    function split(bytes32 id, address to, uint64 amount) external returns (bytes32 child);

    /// @notice Ask a member bank to finance a part on the holder's terms (holder only; Active,
    /// before maturity). Asking the same bank again replaces the terms.
    /// @dev A request holds while the part stays with this holder and until `expiresAt`;
    /// several banks may be asked, and the first to finance within its terms wins.
    /// @param minAdvance The least advance in fen: more than 0, at most the part's amount.
    /// @param maxDiscountBps The highest discount rate in basis points, at most 10,000.
    /// @param expiresAt UNIX seconds: the last moment the bank may finance; in the future.
    function requestFinancing(
        bytes32 id,
        address financier,
        uint64 minAdvance,
        uint16 maxDiscountBps,
        uint40 expiresAt
    ) external;

    /// @notice Withdraw a request to a bank (holder only).
    function withdrawFinancingRequest(bytes32 id, address financier) external;

    /// @notice Finance a part the holder asked this bank to finance (financier role), within
    /// the request's terms and before it expires: record the advance and become its payee.
    /// A financed part cannot be financed again.
    /// @param advance Fen advanced to the holder: at least the request's `minAdvance`, at
    /// most the part's amount.
    /// @param discountBps Discount rate in basis points, at most the request's `maxDiscountBps`.
    function finance(bytes32 id, uint64 advance, uint16 discountBps) external;

    /// @notice Release a financing once repaid (the financing bank only): the holder is the
    /// payee again and the part may move.
    function releaseFinancing(bytes32 id) external;

    /// @notice Settle parts at or after maturity (the debtor only): each is marked paid to its
    /// payee. Parts not listed stay outstanding.
    function settle(bytes32[] calldata ids) external;

    /// @notice Mark a part overdue (its payee only) once unpaid past its due date plus the
    /// grace period. Attests a `receivable-default` record about the debtor, with
    /// dataHash = keccak256(abi.encode(bytes32 debtorSubject, bytes32 id, uint64 amount,
    /// uint40 dueDate, uint32 daysOverdue)) (the schema's fields in layout order, dueDate in
    /// UNIX seconds, daysOverdue = whole days since the due date), expiry 0 and refUID 0.
    /// @return attestation The attestation's UID, also stored on the part.
    function markOverdue(bytes32 id) external returns (bytes32 attestation);

    /// @notice A part (status None when unknown).
    function receivable(bytes32 id) external view returns (ReceivableView memory);

    /// @notice The terms of the receivable a part belongs to (debtor 0 when unknown).
    function terms(bytes32 id) external view returns (TermsView memory);

    /// @notice Up to `limit` parts of the receivable `id` belongs to, in split order from the
    /// `offset`-th (the issue is the 0th); `terms(id).partCount` says how many there are.
    function parts(bytes32 id, uint256 offset, uint256 limit) external view returns (bytes32[] memory);

    /// @notice A part's lineage: the part, its parent, ... up to the issued receivable.
    function lineage(bytes32 id) external view returns (bytes32[] memory);

    /// @notice How the parts of the receivable `id` belongs to add up (at most `maxParts()` read).
    function balanceOf(bytes32 id) external view returns (Balance memory);

    /// @notice The receivable of `debtor` an invoice commitment backs (0 when none).
    function receivableOfInvoice(bytes32 debtor, bytes32 invoiceCommitment) external view returns (bytes32);

    /// @notice True when the current holder of `id` has asked `financier` to finance it and
    /// the request has not expired.
    function financingRequested(bytes32 id, address financier) external view returns (bool);

    /// @notice The terms of the current holder's request of `id` to `financier` (all 0 when it
    /// has not asked; an expired request keeps its terms, with `expiresAt` in the past).
    function financingRequest(bytes32 id, address financier) external view returns (FinancingTerms memory);

    /// @notice The most parts a receivable can have, the issue included.
    function maxParts() external pure returns (uint256);

    /// @notice How many receivables were issued.
    function receivableCount() external view returns (uint256);

    /// @notice Seconds after the due date before an unpaid part can be marked overdue.
    function gracePeriod() external view returns (uint40);

    /// @notice The schema id of the `receivable-default` records this contract attests.
    function defaultSchema() external view returns (bytes32);

    /// @notice The consortium contract that says who may act.
    function consortium() external view returns (address);

    /// @notice The attestation contract defaults are attested in.
    function attestations() external view returns (address);

    /// @notice The collateral registry asked before a part is financed or moved.
    function collateral() external view returns (address);

    /// @notice What the collateral registry needs to know of a part: its holder's subject id,
    /// its status and its financier (0 when not financed).
    function collateralState(bytes32 id) external view returns (bytes32 holder, Status status, address financier);
}
