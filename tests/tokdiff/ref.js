// ref.js - the reference side of the tokenizer differential: the Hugging Face
// `tokenizers` library (Rust, through the @anush008/tokenizers Node binding in
// tests/tokdiff/node_modules) on a tokenizer.json, padding off, no truncation.
// Each input of CASES.bin (4-byte little-endian length + bytes) is decoded as
// UTF-8 with replacement (the WHATWG decoder: one U+FFFD per maximal ill-formed
// subsequence, as te_tokenize does) and encoded with special tokens; OUT gets
// one line of space-separated ids per input.
//   node tests/tokdiff/ref.js TOKENIZER.json CASES.bin OUT.txt
const fs = require("fs");
const path = require("path");
const { Tokenizer } = require(path.join(__dirname, "node_modules", "@anush008", "tokenizers"));

(async () => {
  const [tokPath, casesPath, outPath] = process.argv.slice(2);
  const tok = Tokenizer.fromFile(tokPath);
  tok.disablePadding();
  tok.setTruncation(1 << 30);
  const buf = fs.readFileSync(casesPath);
  const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  const texts = [];
  for (let off = 0; off < buf.length;) {
    const n = buf.readUInt32LE(off);
    texts.push(decoder.decode(buf.subarray(off + 4, off + 4 + n)));
    off += 4 + n;
  }
  const out = fs.openSync(outPath, "w");
  for (let i = 0; i < texts.length; i += 1000) {
    const encs = await tok.encodeBatch(texts.slice(i, i + 1000));
    fs.writeSync(out, encs.map(e => Array.from(e.getIds()).join(" ")).join("\n") + "\n");
  }
  fs.closeSync(out);
})().catch(e => { console.error("ref.js: " + e.message); process.exit(1); });
