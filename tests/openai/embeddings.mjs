// embeddings.mjs - the official openai npm client against `tinyembed serve`:
// client.embeddings.create for a string and for a list, with the client's
// defaults (it asks for base64 and decodes it) and with encoding_format
// "float". Prints one JSON object {"one": [...], "list": [[...], ...],
// "float": [...], "usage": {...}} for tests/cli_serve.sh to compare with
// `tinyembed embed` (te_embed in process).
//   node embeddings.mjs PORT MODEL TEXT1 TEXT2 ...
import OpenAI from "openai";

const [port, model, ...texts] = process.argv.slice(2);
const client = new OpenAI({ apiKey: "test-key", baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
const one = await client.embeddings.create({ model, input: texts[0] });
const list = await client.embeddings.create({ model, input: texts });
const flt = await client.embeddings.create({ model, input: texts[0], encoding_format: "float" });
if (one.object !== "list" || list.data.length !== texts.length) throw new Error("unexpected shape");
list.data.forEach((d, i) => { if (d.index !== i || d.object !== "embedding") throw new Error("bad item " + i); });
console.log(JSON.stringify({
  one: Array.from(one.data[0].embedding),
  list: list.data.map((d) => Array.from(d.embedding)),
  float: Array.from(flt.data[0].embedding),
  usage: list.usage,
  model: list.model,
}));
