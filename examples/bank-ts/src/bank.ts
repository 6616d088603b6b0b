// A bank integrating the credit chain's HTTP API from TypeScript, with ethers and nothing of
// the project's Python: it reads the typed data the API serves, signs an attestation as the
// bank, has the holder of a receivable sign a financing request and hands it in, finances the
// receivable, polls every submission until it is anchored, and verifies the attestation.
//
//   npx tsc -p examples/bank-ts
//   CREDIT_API_URL=http://127.0.0.1:8000 BANK_API_KEY=… BANK_PRIVATE_KEY=0x… \
//   HOLDER_PRIVATE_KEY=0x… RECEIVABLE_ID=0x… ENTERPRISE_USCC=… CREDIT_CHAIN_SUBJECT_KEY=… \
//   node examples/bank-ts/dist/bank.js
//
// It prints one JSON line of what it did, and exits 1 naming the API's error otherwise.
// README.md beside this file says what each step is for.

import { randomBytes, randomUUID } from "node:crypto";

import { AbiCoder, Interface, type JsonFragment, type TypedDataDomain, type TypedDataField, Wallet, verifyTypedData } from "ethers";

import { recordHash } from "./record-hashing.js";
import { subjectId } from "./subject-id.js";
import { checkVectors } from "./vectors.js";

const ZERO32 = `0x${"00".repeat(32)}`;
const HOUR = 3600;
const DAY = 86_400;
// How long one write may stay pending before the example gives up on it.
const ANCHOR_TIMEOUT_MS = 60_000;
const POLL_MS = 100;

// -- what the API serves (the parts this bank reads) -------------------------------------------

/** The API's error body: a stable name and a detail (docs: "Errors"). */
interface ErrorBody {
  readonly error: string;
  readonly detail?: unknown;
}

/** One placeholder of a template: where its value comes from, or fixed by the API. */
interface TemplateField {
  readonly name: string;
  readonly fixed?: boolean;
}

/** How a ForwardRequest's data is built: the function and each argument's type and source. */
interface CallTemplate {
  readonly function: string;
  readonly signature: string;
  readonly selector: string;
  readonly abi: JsonFragment;
  readonly arguments: readonly { readonly type: string; readonly source: string }[];
}

/** One write of `GET /v1/typed-data`: the typed data to sign and where to post it. */
interface WriteTemplate {
  readonly operation: string;
  readonly path: string;
  readonly fields: readonly TemplateField[];
  readonly typed_data: {
    readonly domain: TypedDataDomain;
    readonly types: Record<string, TypedDataField[]>;
    readonly primaryType: string;
    readonly message: Record<string, unknown>;
  };
  readonly call?: CallTemplate;
}

interface TypedDataCatalogue {
  readonly chain_id: number;
  readonly writes: readonly WriteTemplate[];
}

interface AnchoredResult {
  readonly uid?: string;
  readonly events: readonly { readonly name: string }[];
}

interface Submission {
  readonly id: string;
  readonly operation: string;
  readonly status: "pending" | "anchored" | "rejected" | string;
  readonly result?: AnchoredResult & Partial<ErrorBody>;
}

interface Check {
  readonly name: string;
  readonly ok: boolean;
}

interface Verification {
  readonly ok: boolean;
  readonly checks: readonly Check[];
}

interface Schema {
  readonly id: string;
  readonly name: string;
  readonly layout: string;
}

interface ReceivablePart {
  readonly amount_fen: number;
  readonly status: string;
  readonly financier: string | null;
}

/** A JSON body of a write: field name to value. */
type Body = Record<string, unknown>;

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

/** An error the API answered with: its stable body {"error": "<Name>", "detail": …}. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Partial<ErrorBody> | undefined,
  ) {
    super(`${status} ${body?.error}: ${JSON.stringify(body?.detail)}`);
    this.name = body?.error ?? `HTTP${status}`;
  }
}

interface RequestOptions {
  readonly body?: unknown;
  readonly write?: boolean;
  readonly key?: boolean;
}

class CreditChainApi {
  private readonly url: string;

  constructor(
    url: string,
    private readonly apiKey: string,
  ) {
    this.url = url.replace(/\/$/, "");
  }

  async request<T>(method: "GET" | "POST", path: string, { body, write = false, key = true }: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (key) headers["X-API-Key"] = this.apiKey;
    // One key per write: sent again after a lost answer, the same write, never a second one.
    if (write) headers["Idempotency-Key"] = randomUUID();
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const doc: unknown = await response.json();
    if (!response.ok) throw new ApiError(response.status, doc as Partial<ErrorBody>);
    return doc as T;
  }

  get<T>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>("GET", path, options);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>("POST", path, { body });
  }

  write(path: string, body: Body): Promise<Submission> {
    return this.request<Submission>("POST", path, { body, write: true });
  }

  /** Poll a submission until it is anchored (its result) or rejected (thrown by name). */
  async anchored(submission: Submission): Promise<AnchoredResult> {
    const deadline = Date.now() + ANCHOR_TIMEOUT_MS;
    let sub = submission;
    while (sub.status === "pending") {
      if (Date.now() > deadline) throw new Error(`${sub.operation} ${sub.id} still pending`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      sub = await this.get<Submission>(`/v1/submissions/${sub.id}`);
    }
    if (sub.status !== "anchored" || sub.result === undefined) {
      throw new ApiError(409, sub.result ?? { error: sub.status });
    }
    return sub.result;
  }
}

/** A nonce for a write: random, below 2**48, so JSON carries it as a plain number (and an
 *  attestation's fits a signed batch's 56 bits). */
function freshNonce(): number {
  return randomBytes(6).readUIntBE(0, 6);
}

const now = (): number => Math.floor(Date.now() / 1000);

/** Sign a served template: its placeholders filled from `values`, every one and no other. */
async function signTemplate(wallet: Wallet, template: WriteTemplate, values: Record<string, unknown>): Promise<string> {
  const message: Record<string, unknown> = { ...template.typed_data.message };
  for (const field of template.fields) {
    if (field.fixed) continue;
    if (!Object.hasOwn(values, field.name)) throw new Error(`${template.operation}: no value for ${field.name}`);
    message[field.name] = values[field.name];
  }
  for (const name of Object.keys(values)) {
    if (!Object.hasOwn(message, name)) throw new Error(`${template.operation}: no field ${name}`);
  }
  // ethers derives EIP712Domain from the domain itself and refuses it among the types.
  const { EIP712Domain: _derived, ...types } = template.typed_data.types;
  const domain = template.typed_data.domain;
  const signature = await wallet.signTypedData(domain, types, message);
  if (verifyTypedData(domain, types, message, signature) !== wallet.address) {
    throw new Error(`${template.operation}: the signature does not recover to ${wallet.address}`);
  }
  return signature;
}

/** An argument's value from where the template says it comes from. */
function argument(source: string, pathParams: Record<string, string>, body: Body): unknown {
  if (source.startsWith("path ")) return pathParams[source.slice(5)];
  if (/^body\.[a-z_]+$/.test(source)) return body[source.slice(5)];
  throw new Error(`this example builds no argument from "${source}"`);
}

/** A ForwardRequest's data: the selector, then the arguments ABI-encoded, in order. */
function calldata(call: CallTemplate, pathParams: Record<string, string>, body: Body): string {
  const args = call.arguments.map((a) => argument(a.source, pathParams, body));
  const types = call.arguments.map((a) => a.type);
  const data = call.selector + AbiCoder.defaultAbiCoder().encode(types, args).slice(2);
  // The ABI fragment served beside it must say the same.
  if (data !== new Interface([call.abi]).encodeFunctionData(call.function, args)) {
    throw new Error(`${call.signature}: calldata differs from the ABI fragment's`);
  }
  return data;
}

/** A write signed as a ForwardRequest by `wallet`: the route to post it to and its body. */
async function signedForward(
  wallet: Wallet,
  template: WriteTemplate,
  pathParams: Record<string, string>,
  terms: Body,
): Promise<{ path: string; body: Body }> {
  if (template.call === undefined) throw new Error(`${template.operation} is not a ForwardRequest`);
  const body: Body = { ...terms, signer: wallet.address, nonce: freshNonce(), deadline: now() + HOUR };
  const data = calldata(template.call, pathParams, body);
  const signature = await signTemplate(wallet, template, {
    from: wallet.address,
    nonce: body["nonce"],
    deadline: body["deadline"],
    data,
  });
  const path = template.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = pathParams[name];
    if (value === undefined) throw new Error(`${template.operation}: no value for {${name}}`);
    return value;
  });
  return { path, body: { ...body, signature } };
}

/** The served template of one write, or an error naming it. */
function templateOf(templates: ReadonlyMap<string, WriteTemplate>, operation: string): WriteTemplate {
  const template = templates.get(operation);
  if (template === undefined) throw new Error(`the API serves no typed data for ${operation}`);
  return template;
}

/** The record the bank attests: it stays in the bank; only its hash goes to the API. */
interface LoanRepayment {
  readonly subject: string;
  readonly loanId: string;
  readonly instalment: number;
  readonly dueFen: number;
  readonly repaidFen: number;
  readonly dueDate: string;
  readonly repaidDate: string;
}

async function attest(
  api: CreditChainApi,
  bank: Wallet,
  templates: ReadonlyMap<string, WriteTemplate>,
  subject: string,
): Promise<{ uid: string; record: LoanRepayment; dataHash: string }> {
  const { data: schemas } = await api.get<{ data: Schema[] }>("/v1/schemas");
  const schema = schemas.find((s) => s.name === "loan-repayment");
  if (schema === undefined) throw new Error("the chain has no loan-repayment schema");
  const record: LoanRepayment = {
    subject,
    loanId: "SH-TS-2025-0042",
    instalment: 3,
    dueFen: 1_250_000,
    repaidFen: 1_250_000,
    dueDate: "2025-03-31",
    repaidDate: "2025-03-28",
  };
  const dataHash = recordHash(schema.layout, record);
  const template = templateOf(templates, "attestations.attest");
  const nonce = freshNonce();
  const deadline = now() + HOUR;
  const signature = await signTemplate(bank, template, {
    schema: schema.id,
    subject,
    dataHash,
    expiry: 0,
    refUID: ZERO32,
    attester: bank.address,
    nonce,
    deadline,
  });
  const body: Body = {
    schema: schema.name,
    subject,
    data_hash: dataHash,
    expiry: 0,
    ref_uid: ZERO32,
    signer: bank.address,
    nonce,
    deadline,
    signature,
  };
  const result = await api.anchored(await api.write(template.path, body));
  if (!result.uid) throw new Error(`the attestation was anchored without a uid: ${JSON.stringify(result)}`);
  return { uid: result.uid, record, dataHash };
}

/** What the holder does on its own side: sign its request to this bank, on its terms. */
function holderSignsFinancingRequest(
  holder: Wallet,
  template: WriteTemplate,
  receivableId: string,
  terms: Body,
): Promise<{ path: string; body: Body }> {
  return signedForward(holder, template, { receivable_id: receivableId }, terms);
}

async function main(): Promise<void> {
  const vectors = checkVectors();
  const api = new CreditChainApi(env("CREDIT_API_URL"), env("BANK_API_KEY"));
  const bank = new Wallet(env("BANK_PRIVATE_KEY"));
  const holder = new Wallet(env("HOLDER_PRIVATE_KEY"));
  const receivableId = env("RECEIVABLE_ID");
  const subject = subjectId(env("ENTERPRISE_USCC"), env("CREDIT_CHAIN_SUBJECT_KEY"));

  // 1. The typed data: public, no key needed.
  const catalogue = await api.get<TypedDataCatalogue>("/v1/typed-data", { key: false });
  const templates = new Map(catalogue.writes.map((w) => [w.operation, w]));

  // 2. An attestation, signed by the bank (EIP-712 Attest).
  const attestation = await attest(api, bank, templates, subject);

  // 3. A financing request, signed by the holder and handed in by the bank it asks.
  const part = await api.get<ReceivablePart>(`/v1/receivables/${receivableId}`);
  const amount = part.amount_fen;
  const ask = await holderSignsFinancingRequest(holder, templateOf(templates, "receivables.request_financing"), receivableId, {
    financier: bank.address,
    min_advance_fen: Math.floor(amount * 0.8),
    max_discount_bps: 400,
    expires_at: now() + 7 * DAY,
  });
  const requested = await api.write(ask.path, ask.body);
  const requestResult = await api.anchored(requested);

  // 4. The bank finances it, within the holder's terms (its own ForwardRequest).
  const fin = await signedForward(bank, templateOf(templates, "receivables.finance"), { receivable_id: receivableId }, {
    advance_fen: Math.floor(amount * 0.85),
    discount_bps: 350,
  });
  const financed = await api.write(fin.path, fin.body);
  const financeResult = await api.anchored(financed);
  const after = await api.get<ReceivablePart>(`/v1/receivables/${receivableId}`);
  if (after.status !== "financed" || after.financier !== bank.address) {
    throw new Error(`the receivable is ${after.status}, financier ${after.financier}`);
  }

  // 5. Verify the attestation from the record; a record altered by one fen must fail.
  const verified = await api.post<Verification>("/v1/verify", { uid: attestation.uid, record: attestation.record });
  if (!verified.ok) throw new Error(`verification failed: ${JSON.stringify(verified.checks)}`);
  const altered: LoanRepayment = { ...attestation.record, repaidFen: attestation.record.repaidFen - 1 };
  const tampered = await api.post<Verification>("/v1/verify", { uid: attestation.uid, record: altered });
  if (tampered.ok) throw new Error("an altered record verified");

  process.stdout.write(
    `${JSON.stringify({
      vectors,
      chain_id: catalogue.chain_id,
      attestation: { uid: attestation.uid, subject, data_hash: attestation.dataHash },
      financing_request: { submission: requested.id, events: requestResult.events.map((e) => e.name) },
      financing: { submission: financed.id, events: financeResult.events.map((e) => e.name) },
      verified: verified.checks.map((c) => c.name),
      tampered_refused: tampered.checks.filter((c) => !c.ok).map((c) => c.name),
    })}\n`,
  );
}

main().catch((error: unknown) => {
  const e = error instanceof Error ? error : new Error(String(error));
  process.stderr.write(`bank-ts: ${e.name}: ${e.message}\n`);
  process.exit(1);
});
