// A bank integrating the credit chain's HTTP API from JavaScript, with ethers and nothing of
// the project's Python: it reads the typed data the API serves, signs an attestation as the
// bank, has the holder of a receivable sign a financing request and hands it in, finances the
// receivable, polls every submission until it is anchored, and verifies the attestation.
//
//   CREDIT_API_URL=http://127.0.0.1:8000 BANK_API_KEY=… BANK_PRIVATE_KEY=0x… \
//   HOLDER_PRIVATE_KEY=0x… RECEIVABLE_ID=0x… ENTERPRISE_USCC=… CREDIT_CHAIN_SUBJECT_KEY=… \
//   node examples/bank-js/bank.mjs
//
// It prints one JSON line of what it did, and exits 1 naming the API's error otherwise.
// README.md beside this file says what each step is for.

import { randomBytes, randomUUID } from "node:crypto";

import { AbiCoder, Interface, Wallet, verifyTypedData } from "ethers";

import { recordHash } from "./record-hashing.mjs";
import { subjectId } from "./subject-id.mjs";
import { checkVectors } from "./vectors.mjs";

const ZERO32 = `0x${"00".repeat(32)}`;
const HOUR = 3600;
const DAY = 86_400;
// How long one write may stay pending before the example gives up on it.
const ANCHOR_TIMEOUT_MS = 60_000;
const POLL_MS = 100;

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

/** An error the API answered with: its stable body {"error": "<Name>", "detail": …}. */
class ApiError extends Error {
  constructor(status, body) {
    super(`${status} ${body?.error}: ${body?.detail}`);
    this.name = body?.error ?? `HTTP${status}`;
    this.status = status;
    this.body = body;
  }
}

class CreditChainApi {
  constructor(url, apiKey) {
    this.url = url.replace(/\/$/, "");
    this.apiKey = apiKey;
  }

  async request(method, path, { body, write = false, key = true } = {}) {
    const headers = { "Content-Type": "application/json" };
    if (key) headers["X-API-Key"] = this.apiKey;
    // One key per write: sent again after a lost answer, the same write, never a second one.
    if (write) headers["Idempotency-Key"] = randomUUID();
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const doc = await response.json();
    if (!response.ok) throw new ApiError(response.status, doc);
    return doc;
  }

  get(path, options) {
    return this.request("GET", path, options);
  }

  post(path, body) {
    return this.request("POST", path, { body });
  }

  write(path, body) {
    return this.request("POST", path, { body, write: true });
  }

  /** Poll a submission until it is anchored (its result) or rejected (thrown by name). */
  async anchored(submission) {
    const deadline = Date.now() + ANCHOR_TIMEOUT_MS;
    let sub = submission;
    while (sub.status === "pending") {
      if (Date.now() > deadline) throw new Error(`${sub.operation} ${sub.id} still pending`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      sub = await this.get(`/v1/submissions/${sub.id}`);
    }
    if (sub.status !== "anchored") throw new ApiError(409, sub.result ?? { error: sub.status });
    return sub.result;
  }
}

/** A nonce for a write: random, below 2**48, so JSON carries it as a plain number (and an
 *  attestation's fits a signed batch's 56 bits). */
function freshNonce() {
  return Number(randomBytes(6).readUIntBE(0, 6));
}

const now = () => Math.floor(Date.now() / 1000);

/** Sign a served template: its placeholders filled from `values`, every one and no other. */
async function signTemplate(wallet, template, values) {
  const message = { ...template.typed_data.message };
  for (const field of template.fields) {
    if (field.fixed) continue;
    if (!Object.hasOwn(values, field.name)) throw new Error(`${template.operation}: no value for ${field.name}`);
    message[field.name] = values[field.name];
  }
  for (const name of Object.keys(values)) {
    if (!Object.hasOwn(message, name)) throw new Error(`${template.operation}: no field ${name}`);
  }
  // ethers derives EIP712Domain from the domain itself and refuses it among the types.
  const { EIP712Domain, ...types } = template.typed_data.types;
  const domain = template.typed_data.domain;
  const signature = await wallet.signTypedData(domain, types, message);
  if (verifyTypedData(domain, types, message, signature) !== wallet.address) {
    throw new Error(`${template.operation}: the signature does not recover to ${wallet.address}`);
  }
  return signature;
}

/** An argument's value from where the template says it comes from. */
function argument(source, pathParams, body) {
  if (source.startsWith("path ")) return pathParams[source.slice(5)];
  if (source.startsWith("body.") && /^body\.[a-z_]+$/.test(source)) return body[source.slice(5)];
  throw new Error(`this example builds no argument from "${source}"`);
}

/** A ForwardRequest's data: the selector, then the arguments ABI-encoded, in order. */
function calldata(call, pathParams, body) {
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
async function signedForward(wallet, template, pathParams, terms) {
  const body = { ...terms, signer: wallet.address, nonce: freshNonce(), deadline: now() + HOUR };
  const data = calldata(template.call, pathParams, body);
  const signature = await signTemplate(wallet, template, {
    from: wallet.address,
    nonce: body.nonce,
    deadline: body.deadline,
    data,
  });
  const path = template.path.replace(/\{(\w+)\}/g, (_, name) => pathParams[name]);
  return { path, body: { ...body, signature } };
}

async function attest(api, bank, templates, subject) {
  const { data: schemas } = await api.get("/v1/schemas");
  const schema = schemas.find((s) => s.name === "loan-repayment");
  // The record stays in the bank: only its hash and the subject id go to the API.
  const record = {
    subject,
    loanId: "SH-JS-2025-0042",
    instalment: 3,
    dueFen: 1_250_000,
    repaidFen: 1_250_000,
    dueDate: "2025-03-31",
    repaidDate: "2025-03-28",
  };
  const dataHash = recordHash(schema.layout, record);
  const template = templates["attestations.attest"];
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
  const body = {
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
function holderSignsFinancingRequest(holder, template, receivableId, terms) {
  return signedForward(holder, template, { receivable_id: receivableId }, terms);
}

async function main() {
  const vectors = checkVectors();
  const api = new CreditChainApi(env("CREDIT_API_URL"), env("BANK_API_KEY"));
  const bank = new Wallet(env("BANK_PRIVATE_KEY"));
  const holder = new Wallet(env("HOLDER_PRIVATE_KEY"));
  const receivableId = env("RECEIVABLE_ID");
  const subject = subjectId(env("ENTERPRISE_USCC"), env("CREDIT_CHAIN_SUBJECT_KEY"));

  // 1. The typed data: public, no key needed.
  const catalogue = await api.get("/v1/typed-data", { key: false });
  const templates = Object.fromEntries(catalogue.writes.map((w) => [w.operation, w]));

  // 2. An attestation, signed by the bank (EIP-712 Attest).
  const attestation = await attest(api, bank, templates, subject);

  // 3. A financing request, signed by the holder and handed in by the bank it asks.
  const part = await api.get(`/v1/receivables/${receivableId}`);
  const amount = part.amount_fen;
  const ask = await holderSignsFinancingRequest(holder, templates["receivables.request_financing"], receivableId, {
    financier: bank.address,
    min_advance_fen: Math.floor(amount * 0.8),
    max_discount_bps: 400,
    expires_at: now() + 7 * DAY,
  });
  const requested = await api.write(ask.path, ask.body);
  const requestResult = await api.anchored(requested);

  // 4. The bank finances it, within the holder's terms (its own ForwardRequest).
  const fin = await signedForward(bank, templates["receivables.finance"], { receivable_id: receivableId }, {
    advance_fen: Math.floor(amount * 0.85),
    discount_bps: 350,
  });
  const financed = await api.write(fin.path, fin.body);
  const financeResult = await api.anchored(financed);
  const after = await api.get(`/v1/receivables/${receivableId}`);
  if (after.status !== "financed" || after.financier !== bank.address) {
    throw new Error(`the receivable is ${after.status}, financier ${after.financier}`);
  }

  // 5. Verify the attestation from the record; a record altered by one fen must fail.
  const verified = await api.post("/v1/verify", { uid: attestation.uid, record: attestation.record });
  if (!verified.ok) throw new Error(`verification failed: ${JSON.stringify(verified.checks)}`);
  const altered = { ...attestation.record, repaidFen: attestation.record.repaidFen - 1 };
  const tampered = await api.post("/v1/verify", { uid: attestation.uid, record: altered });
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

main().catch((error) => {
  process.stderr.write(`bank-js: ${error.name}: ${error.message}\n`);
  process.exit(1);
});
