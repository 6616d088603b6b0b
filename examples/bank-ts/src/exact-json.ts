// JSON read exactly: every integer as a BigInt, every number with a fraction or an exponent
// as a FloatLiteral. JSON.parse cannot do either: it rounds integers beyond 2**53 and reads
// 100.0 as 100, and the record-hashing rules refuse the one and keep the other exact
// (docs/record-hashing.md). Strings are decoded by JSON.parse itself, token by token.

/** A JSON number written with a fraction or an exponent: a float, whatever its value. */
export class FloatLiteral {
  readonly value: number;

  constructor(readonly text: string) {
    this.value = Number(text);
  }
}

/** A JSON value as parseExact reads it. */
export type ExactJson = null | boolean | string | bigint | FloatLiteral | ExactJson[] | { [key: string]: ExactJson };

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

/** Parse `text` as JSON, integers as BigInt and other numbers as FloatLiteral. */
export function parseExact(text: string): ExactJson {
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at offset ${i}`);
  };
  const space = (): void => {
    while (i < text.length && " \t\n\r".includes(text.charAt(i))) i += 1;
  };
  const expect = (ch: string): void => {
    space();
    if (text[i] !== ch) fail(`expected ${JSON.stringify(ch)}`);
    i += 1;
  };
  const string = (): string => {
    space();
    if (text[i] !== '"') fail("expected a string");
    let j = i + 1;
    while (text[j] !== '"') {
      if (j >= text.length) fail("unterminated string");
      j += text[j] === "\\" ? 2 : 1;
    }
    const s = JSON.parse(text.slice(i, j + 1)) as string;
    i = j + 1;
    return s;
  };
  const value = (): ExactJson => {
    space();
    const c = text[i];
    if (c === "{") {
      i += 1;
      const out: { [key: string]: ExactJson } = {};
      space();
      if (text[i] === "}") {
        i += 1;
        return out;
      }
      for (;;) {
        const key = string();
        if (Object.hasOwn(out, key) || key === "__proto__") fail(`key ${JSON.stringify(key)} twice or reserved`);
        expect(":");
        out[key] = value();
        space();
        if (text[i] === ",") {
          i += 1;
          continue;
        }
        expect("}");
        return out;
      }
    }
    if (c === "[") {
      i += 1;
      const out: ExactJson[] = [];
      space();
      if (text[i] === "]") {
        i += 1;
        return out;
      }
      for (;;) {
        out.push(value());
        space();
        if (text[i] === ",") {
          i += 1;
          continue;
        }
        expect("]");
        return out;
      }
    }
    if (c === '"') return string();
    const words: [string, ExactJson][] = [
      ["true", true],
      ["false", false],
      ["null", null],
    ];
    for (const [word, v] of words) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m === null) return fail("expected a value");
    i = NUMBER.lastIndex;
    return m[1] !== undefined || m[2] !== undefined ? new FloatLiteral(m[0]) : BigInt(m[0]);
  };
  const out = value();
  space();
  if (i !== text.length) fail("trailing text");
  return out;
}
