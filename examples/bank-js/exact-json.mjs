// JSON read exactly: every integer as a BigInt, every number with a fraction or an exponent
// as a FloatLiteral. JSON.parse cannot do either: it rounds integers beyond 2**53 and reads
// 100.0 as 100, and the record-hashing rules refuse the one and keep the other exact
// (docs/record-hashing.md). Strings are decoded by JSON.parse itself, token by token.

/** A JSON number written with a fraction or an exponent: a float, whatever its value. */
export class FloatLiteral {
  constructor(text) {
    this.text = text;
    this.value = Number(text);
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

/** Parse `text` as JSON, integers as BigInt and other numbers as FloatLiteral. */
export function parseExact(text) {
  let i = 0;
  const fail = (what) => {
    throw new SyntaxError(`${what} at offset ${i}`);
  };
  const space = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i += 1;
  };
  const expect = (ch) => {
    space();
    if (text[i] !== ch) fail(`expected ${JSON.stringify(ch)}`);
    i += 1;
  };
  const string = () => {
    space();
    if (text[i] !== '"') fail("expected a string");
    let j = i + 1;
    while (text[j] !== '"') {
      if (j >= text.length) fail("unterminated string");
      j += text[j] === "\\" ? 2 : 1;
    }
    const s = JSON.parse(text.slice(i, j + 1));
    i = j + 1;
    return s;
  };
  const value = () => {
    space();
    const c = text[i];
    if (c === "{") {
      i += 1;
      const out = {};
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
      const out = [];
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
    for (const [word, v] of [["true", true], ["false", false], ["null", null]]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m === null) fail("expected a value");
    i = NUMBER.lastIndex;
    return m[1] !== undefined || m[2] !== undefined ? new FloatLiteral(m[0]) : BigInt(m[0]);
  };
  const out = value();
  space();
  if (i !== text.length) fail("trailing text");
  return out;
}
