// The spec's test vectors (docs/record-hashing-vectors.json, docs/subject-id-vectors.json)
// checked with this example's own code: a bank's JavaScript hashes records and derives
// subject ids exactly as the chain's Python client does, or this throws.

import { readFileSync } from "node:fs";

import { parseExact } from "./exact-json.mjs";
import { canonicalJson, recordHash, validateRecord } from "./record-hashing.mjs";
import { subjectId } from "./subject-id.mjs";

const DOCS = new URL("../../docs/", import.meta.url);

function read(name) {
  return parseExact(readFileSync(new URL(name, DOCS), "utf8"));
}

/** Check every vector; return how many were checked, or throw naming the first that fails. */
export function checkVectors() {
  const records = read("record-hashing-vectors.json");
  for (const v of records.accepted) {
    const canonical = canonicalJson(validateRecord(v.schema.layout, v.record));
    if (canonical !== v.canonical || Buffer.from(canonical, "utf8").toString("hex") !== v.canonical_hex) {
      throw new Error(`record vector "${v.name}": canonical JSON ${canonical}`);
    }
    const hash = recordHash(v.schema.layout, v.record);
    if (hash !== v.hash) throw new Error(`record vector "${v.name}": hash ${hash}, expected ${v.hash}`);
  }
  for (const v of records.refused) {
    let refusal = null;
    try {
      recordHash(v.schema.layout, v.record);
    } catch (e) {
      refusal = e;
    }
    if (refusal === null || refusal.name !== v.error || refusal.field !== v.field) {
      throw new Error(`record vector "${v.name}": expected ${v.error} of ${v.field}, got ${refusal}`);
    }
  }
  const subjects = read("subject-id-vectors.json");
  for (const v of subjects.accepted) {
    const id = subjectId(v.uscc, v.subject_key);
    if (id !== v.subject) throw new Error(`subject vector ${JSON.stringify(v.uscc)}: ${id}`);
  }
  for (const v of subjects.refused) {
    let refusal = null;
    try {
      subjectId(v.uscc, "00".repeat(32));
    } catch (e) {
      refusal = e;
    }
    if (refusal?.name !== "InvalidUSCC" || !refusal.reason.includes(v.reason)) {
      throw new Error(`subject vector ${v.uscc}: expected "${v.reason}", got ${refusal}`);
    }
  }
  return {
    records: records.accepted.length + records.refused.length,
    subjects: subjects.accepted.length + subjects.refused.length,
  };
}
