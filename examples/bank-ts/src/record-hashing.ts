// The record hash of docs/record-hashing.md, in TypeScript: check a record against its
// schema's layout, write it as RFC 8785 canonical JSON, keccak256 the UTF-8 bytes.
// Integers may be BigInt or safe-integer numbers; a number that is not a safe integer is
// refused, because JavaScript cannot say whether it is exact.

import { keccak256, toUtf8Bytes } from "ethers";

import { FloatLiteral } from "./exact-json.js";

/** The errors Python's ledger_client raises for a record that does not fit its schema. */
export type RecordErrorName = "RecordError" | "RecordFieldMissing" | "RecordFieldUnexpected" | "RecordFieldInvalid";

/** A record that does not fit its schema; `name` is the error Python's ledger_client raises. */
export class RecordError extends Error {
  override readonly name: RecordErrorName;

  constructor(
    name: RecordErrorName,
    readonly field: string | null,
    message: string,
  ) {
    super(`${name}: field ${JSON.stringify(field)}: ${message}`);
    this.name = name;
  }
}

type IntegerKind = "uint" | "int" | "fen" | "timestamp";
type Kind = IntegerKind | "string" | "bool" | "date" | "bytes32";

/** One field of a schema's layout. */
export type Field =
  | { readonly name: string; readonly kind: "enum"; readonly options: readonly string[] }
  | { readonly name: string; readonly kind: Kind; readonly maxLength: number };

/** A record as a bank holds it: field name to value (checked by validateRecord). */
export type RecordValues = { readonly [name: string]: unknown };
/** A value after validation: what canonical JSON writes. */
type Checked = bigint | string | boolean;

const FIELD = /^(enum\([^()]*\)|string\([0-9]+\)|[a-z0-9]+)\s+([A-Za-z_][A-Za-z0-9_]*)$/;
const KINDS: ReadonlySet<string> = new Set<Kind>(["string", "uint", "int", "fen", "bool", "date", "timestamp", "bytes32"]);
const SAFE = 2n ** 53n - 1n;
const RANGES: Readonly<Record<IntegerKind, readonly [bigint, bigint]>> = {
  uint: [0n, 2n ** 256n],
  fen: [0n, 2n ** 256n],
  int: [-(2n ** 255n), 2n ** 255n],
  timestamp: [0n, 2n ** 64n],
};

/** The fields of a layout string, in order. */
export function parseLayout(layout: string): Field[] {
  return layout.split(",").map((part): Field => {
    const m = FIELD.exec(part.trim());
    if (m === null || m[1] === undefined || m[2] === undefined) {
      throw new Error(`layout part ${JSON.stringify(part)} is not '<type> <name>'`);
    }
    const [, type, name] = [m[0], m[1], m[2]];
    if (type.startsWith("enum(")) return { name, kind: "enum", options: type.slice(5, -1).split("|") };
    if (type.startsWith("string(")) return { name, kind: "string", maxLength: Number(type.slice(7, -1)) };
    if (!KINDS.has(type)) throw new Error(`unknown field type ${type}`);
    return { name, kind: type as Kind, maxLength: 256 };
  });
}

function refuse(field: Field, why: string): never {
  throw new RecordError("RecordFieldInvalid", field.name, why);
}

function integer(field: Field, kind: IntegerKind, value: unknown): bigint {
  let n: bigint;
  if (typeof value === "bigint") n = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === "number" && Number.isInteger(value)) return refuse(field, "beyond 2**53: pass a BigInt");
  else if (typeof value === "number" || value instanceof FloatLiteral) return refuse(field, "a float is not converted");
  else return refuse(field, `${typeof value} is not an integer`);
  const [low, high] = RANGES[kind];
  if (n < low || n >= high) refuse(field, `out of range for ${kind}`);
  return n;
}

function realDate(text: string): boolean {
  const [y = 0, m = 0, d = 0] = text.split("-").map(Number);
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d); // not Date.UTC: it reads years 0..99 as 1900..1999
  return y >= 1 && date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function checked(field: Field, value: unknown): Checked {
  if (field.kind === "enum") {
    if (typeof value !== "string" || !field.options.includes(value)) refuse(field, "not one of the options");
    return value;
  }
  switch (field.kind) {
    case "uint":
    case "int":
    case "fen":
    case "timestamp":
      return integer(field, field.kind, value);
    case "string":
      if (typeof value !== "string") return refuse(field, "only a string is accepted");
      if (value === "") refuse(field, "empty");
      if (!value.isWellFormed()) refuse(field, "a lone surrogate, which UTF-8 cannot encode");
      // Code points, not UTF-16 units: "𠀀".length is 2.
      if ([...value].length > field.maxLength) refuse(field, `longer than ${field.maxLength} code points`);
      return value;
    case "bool":
      if (typeof value !== "boolean") return refuse(field, "only true or false is accepted");
      return value;
    case "date":
      if (typeof value !== "string" || !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(value)) return refuse(field, "not YYYY-MM-DD");
      if (!realDate(value)) refuse(field, "no such calendar date");
      return value;
    case "bytes32":
      if (value instanceof Uint8Array && value.length === 32) return `0x${Buffer.from(value).toString("hex")}`;
      if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) return refuse(field, "not 0x and 64 hex digits");
      return value.toLowerCase();
  }
}

/** The record checked against its layout: a new object, values normalised, integers BigInt. */
export function validateRecord(layout: string, record: unknown): Record<string, Checked> {
  if (record === null || typeof record !== "object" || Array.isArray(record)) {
    throw new RecordError("RecordError", null, "a record is an object of field values");
  }
  const values = record as RecordValues;
  const out: Record<string, Checked> = {};
  for (const field of parseLayout(layout)) {
    if (!Object.hasOwn(values, field.name)) {
      throw new RecordError("RecordFieldMissing", field.name, "missing");
    }
    out[field.name] = checked(field, values[field.name]);
  }
  for (const key of Object.keys(values)) {
    if (!Object.hasOwn(out, key)) throw new RecordError("RecordFieldUnexpected", key, "not in the schema");
  }
  return out;
}

function jsonValue(value: Checked): string {
  if (typeof value === "bigint") {
    const safe = value >= -SAFE && value <= SAFE;
    return safe ? value.toString() : JSON.stringify(value.toString());
  }
  // JSON.stringify of a well-formed string escapes exactly as RFC 8785 does.
  return JSON.stringify(value);
}

/** RFC 8785 canonical JSON of a validated record: keys by UTF-16 code unit, no whitespace. */
export function canonicalJson(validated: Readonly<Record<string, Checked>>): string {
  // The default sort compares UTF-16 code units, which is RFC 8785's order.
  const keys = Object.keys(validated).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jsonValue(validated[k] as Checked)}`).join(",")}}`;
}

/** keccak256 of the record's canonical JSON (0x hex), after checking it against its layout. */
export function recordHash(layout: string, record: unknown): string {
  return keccak256(toUtf8Bytes(canonicalJson(validateRecord(layout, record))));
}
