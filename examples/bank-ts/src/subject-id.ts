// Subject ids (docs/subject-ids.md): HMAC-SHA256(subject key, USCC), after checking the code
// against GB 32100-2015. Run by a member, with its own copy of the consortium's subject key.

import { createHmac } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: readonly number[] = Array.from({ length: 17 }, (_, i) => Number(3n ** BigInt(i) % 31n));
const ORG_WEIGHTS: readonly number[] = [3, 7, 9, 10, 5, 8, 4, 2];
const AUTHORITIES = "123456789ANY";

export class InvalidUSCC extends Error {
  override readonly name = "InvalidUSCC";

  constructor(
    readonly code: string,
    readonly reason: string,
  ) {
    super(`invalid USCC ${JSON.stringify(code)}: ${reason}`);
  }
}

function checkCharacter(first17: string): string {
  const total = [...first17].reduce((sum, ch, i) => sum + ALPHABET.indexOf(ch) * (WEIGHTS[i] ?? 0), 0);
  return ALPHABET.charAt((31 - (total % 31)) % 31);
}

function orgCheckCharacter(first8: string): string {
  // GB 11714 values letters A..Z as 10..35 (unlike GB 32100's own alphabet).
  const value = (ch: string): number => (/[0-9]/.test(ch) ? Number(ch) : ch.charCodeAt(0) - 55);
  const total = [...first8].reduce((sum, ch, i) => sum + value(ch) * (ORG_WEIGHTS[i] ?? 0), 0);
  const c = 11 - (total % 11);
  return c === 10 ? "X" : c === 11 ? "0" : String(c);
}

/** The code normalised (trimmed, upper case) if it is a valid USCC; else InvalidUSCC. */
export function validateUscc(code: string): string {
  const norm = code.trim().toUpperCase();
  if (norm.length !== 18) throw new InvalidUSCC(code, `has ${norm.length} characters, a USCC has 18`);
  const bad = [...new Set([...norm].filter((ch) => !ALPHABET.includes(ch)))].sort();
  if (bad.length) throw new InvalidUSCC(code, `contains ${bad.map((c) => `'${c}'`).join(", ")}`);
  const authority = norm.charAt(0);
  if (!AUTHORITIES.includes(authority)) {
    throw new InvalidUSCC(code, `registration-authority code '${authority}' is not assigned`);
  }
  if (!/^[0-9]{6}$/.test(norm.slice(2, 8))) throw new InvalidUSCC(code, "administrative-division code is not six digits");
  const org = norm.slice(8, 17);
  if (orgCheckCharacter(org.slice(0, 8)) !== org.charAt(8)) {
    throw new InvalidUSCC(code, `organisation code '${org}' has a wrong check character`);
  }
  const expected = checkCharacter(norm.slice(0, 17));
  if (norm.charAt(17) !== expected) {
    throw new InvalidUSCC(code, `check character is '${norm.charAt(17)}', expected '${expected}'`);
  }
  return norm;
}

/** The subject id (0x hex) of the enterprise with this USCC, under a 32-byte key in hex. */
export function subjectId(code: string, subjectKeyHex: string): string {
  const hex = subjectKeyHex.trim().replace(/^0x/i, "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error("a subject key is 64 hex digits (32 bytes)");
  const mac = createHmac("sha256", Buffer.from(hex, "hex"));
  return `0x${mac.update(validateUscc(code), "ascii").digest("hex")}`;
}
