// The record hash of docs/record-hashing.md, in JavaScript: check a record against its
// schema's layout, write it as RFC 8785 canonical JSON, keccak256 the UTF-8 bytes.
// Integers may be BigInt or safe-integer Numbers; a Number that is not a safe integer is
// refused, because JavaScript cannot say whether it is exact.

import { keccak256, toUtf8Bytes } from "ethers";

import { FloatLiteral } from "./exact-json.mjs";

/** A record that does not fit its schema; `name` is the error Python's ledger_client raises. */
export class RecordError extends Error {
  constructor(name, field, message) {
    super(`${name}: field ${JSON.stringify(field)}: ${message}`);
    this.name = name;
    this.field = field;
  }
}

const FIELD = /^(enum\([^()]*\)|string\([0-9]+\)|[a-z0-9]+)\s+([A-Za-z_][A-Za-z0-9_]*)$/;
const KINDS = new Set(["string", "uint", "int", "fen", "bool", "date", "timestamp", "bytes32"]);
const SAFE = 2n ** 53n - 1n;
const RANGES = {
  uint: [0n, 2n ** 256n],
  fen: [0n, 2n ** 256n],
  int: [-(2n ** 255n), 2n ** 255n],
  timestamp: [0n, 2n ** 64n],
};

/** The fields of a layout string: [{name, kind, maxLength, options}], in order. */
export function parseLayout(layout) {
  return layout.split(",").map((part) => {
    const m = FIELD.exec(part.trim());
    if (m === null) throw new Error(`layout part ${JSON.stringify(part)} is not '<type> <name>'`);
    const [, type, name] = m;
    if (type.startsWith("enum(")) return { name, kind: "enum", options: type.slice(5, -1).split("|") };
    if (type.startsWith("string(")) return { name, kind: "string", maxLength: Number(type.slice(7, -1)) };
    if (!KINDS.has(type)) throw new Error(`unknown field type ${type}`);
    return { name, kind: type, maxLength: 256 };
  });
}

function integer(field, value) {
  const refuse = (why) => {
    throw new RecordError("RecordFieldInvalid", field.name, why);
  };
  let n;
  if (typeof value === "bigint") n = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === "number" && Number.isInteger(value)) refuse("beyond 2**53: pass a BigInt");
  else if (typeof value === "number" || value instanceof FloatLiteral) refuse("a float is not converted");
  else refuse(`${typeof value} is not an integer`);
  const [low, high] = RANGES[field.kind];
  if (n < low || n >= high) refuse(`out of range for ${field.kind}`);
  return n;
}

function realDate(text) {
  const [y, m, d] = text.split("-").map(Number);
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d); // not Date.UTC: it reads years 0..99 as 1900..1999
  return y >= 1 && date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function checked(field, value) {
  const refuse = (why) => {
    throw new RecordError("RecordFieldInvalid", field.name, why);
  };
  switch (field.kind) {
    case "uint":
    case "int":
    case "fen":
    case "timestamp":
      return integer(field, value);
    case "string":
      if (typeof value !== "string") refuse("only a string is accepted");
      if (value === "") refuse("empty");
      if (!value.isWellFormed()) refuse("a lone surrogate, which UTF-8 cannot encode");
      // Code points, not UTF-16 units: "𠀀".length is 2.
      if ([...value].length > field.maxLength) refuse(`longer than ${field.maxLength} code points`);
      return value;
    case "bool":
      if (typeof value !== "boolean") refuse("only true or false is accepted");
      return value;
    case "date":
      if (typeof value !== "string" || !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(value)) refuse("not YYYY-MM-DD");
      if (!realDate(value)) refuse("no such calendar date");
      return value;
    case "bytes32":
      if (value instanceof Uint8Array && value.length === 32) return `0x${Buffer.from(value).toString("hex")}`;
      if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) refuse("not 0x and 64 hex digits");
      return value.toLowerCase();
    case "enum":
      if (typeof value !== "string" || !field.options.includes(value)) refuse("not one of the options");
      return value;
    default:
      throw new Error(`unknown kind ${field.kind}`);
  }
}

/** The record checked against its layout: a new object, values normalised, integers BigInt. */
export function validateRecord(layout, record) {
  if (record === null || typeof record !== "object" || Array.isArray(record)) {
    throw new RecordError("RecordError", null, "a record is an object of field values");
  }
  const fields = parseLayout(layout);
  const out = {};
  for (const field of fields) {
    if (!Object.hasOwn(record, field.name)) {
      throw new RecordError("RecordFieldMissing", field.name, "missing");
    }
    out[field.name] = checked(field, record[field.name]);
  }
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(out, key)) throw new RecordError("RecordFieldUnexpected", key, "not in the schema");
  }
  return out;
}

function jsonValue(value) {
  if (typeof value === "bigint") {
    const safe = value >= -SAFE && value <= SAFE;
    return safe ? value.toString() : JSON.stringify(value.toString());
  }
  // JSON.stringify of a well-formed string escapes exactly as RFC 8785 does.
  return JSON.stringify(value);
}

/** RFC 8785 canonical JSON of a validated record: keys by UTF-16 code unit, no whitespace. */
export function canonicalJson(validated) {
  // The default sort compares UTF-16 code units, which is RFC 8785's order.
  const keys = Object.keys(validated).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jsonValue(validated[k])}`).join(",")}}`;
}

/** keccak256 of the record's canonical JSON (0x hex), after checking it against its layout. */
export function recordHash(layout, record) {
  return keccak256(toUtf8Bytes(canonicalJson(validateRecord(layout, record))));
}
