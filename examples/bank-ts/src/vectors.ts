// The spec's test vectors (docs/record-hashing-vectors.json, docs/subject-id-vectors.json)
// checked with this example's own code: a bank's TypeScript hashes records and derives
// subject ids exactly as the chain's Python client does, or this throws.

import { readFileSync } from "node:fs";

import { type ExactJson, parseExact } from "./exact-json.js";
import { canonicalJson, RecordError, recordHash, validateRecord } from "./record-hashing.js";
import { InvalidUSCC, subjectId } from "./subject-id.js";

// The repository's docs/, seen from src/ and dist/ alike (both are three folders below the root).
const DOCS = new URL("../../../docs/", import.meta.url);

type JsonObject = { readonly [key: string]: ExactJson };

function object(value: ExactJson | undefined, what: string): JsonObject {
  if (value === null || value === undefined || typeof value !== "object" || Array.isArray(value) || !(value.constructor === Object)) {
    throw new Error(`${what} is not an object`);
  }
  return value as JsonObject;
}

function list(value: ExactJson | undefined, what: string): JsonObject[] {
  if (!Array.isArray(value)) throw new Error(`${what} is not a list`);
  return value.map((v, i) => object(v, `${what}[${i}]`));
}

function text(doc: JsonObject, key: string): string {
  const value = doc[key];
  if (typeof value !== "string") throw new Error(`"${key}" is not a string`);
  return value;
}

function read(name: string): JsonObject {
  return object(parseExact(readFileSync(new URL(name, DOCS), "utf8")), name);
}

/** How many vectors of each file were checked. */
export interface VectorCounts {
  readonly records: number;
  readonly subjects: number;
}

/** Check every vector; return how many were checked, or throw naming the first that fails. */
export function checkVectors(): VectorCounts {
  const records = read("record-hashing-vectors.json");
  const accepted = list(records["accepted"], "accepted");
  const refused = list(records["refused"], "refused");
  for (const v of accepted) {
    const layout = text(object(v["schema"], "schema"), "layout");
    const canonical = canonicalJson(validateRecord(layout, v["record"]));
    if (canonical !== text(v, "canonical") || Buffer.from(canonical, "utf8").toString("hex") !== text(v, "canonical_hex")) {
      throw new Error(`record vector "${text(v, "name")}": canonical JSON ${canonical}`);
    }
    const hash = recordHash(layout, v["record"]);
    if (hash !== text(v, "hash")) throw new Error(`record vector "${text(v, "name")}": hash ${hash}, expected ${text(v, "hash")}`);
  }
  for (const v of refused) {
    let refusal: unknown = null;
    try {
      recordHash(text(object(v["schema"], "schema"), "layout"), v["record"]);
    } catch (e) {
      refusal = e;
    }
    if (!(refusal instanceof RecordError) || refusal.name !== text(v, "error") || refusal.field !== v["field"]) {
      throw new Error(`record vector "${text(v, "name")}": expected ${text(v, "error")} of ${String(v["field"])}, got ${String(refusal)}`);
    }
  }
  const subjects = read("subject-id-vectors.json");
  const valid = list(subjects["accepted"], "accepted");
  const invalid = list(subjects["refused"], "refused");
  for (const v of valid) {
    const id = subjectId(text(v, "uscc"), text(v, "subject_key"));
    if (id !== text(v, "subject")) throw new Error(`subject vector ${JSON.stringify(text(v, "uscc"))}: ${id}`);
  }
  for (const v of invalid) {
    let refusal: unknown = null;
    try {
      subjectId(text(v, "uscc"), "00".repeat(32));
    } catch (e) {
      refusal = e;
    }
    if (!(refusal instanceof InvalidUSCC) || !refusal.reason.includes(text(v, "reason"))) {
      throw new Error(`subject vector ${text(v, "uscc")}: expected "${text(v, "reason")}", got ${String(refusal)}`);
    }
  }
  return { records: accepted.length + refused.length, subjects: valid.length + invalid.length };
}
