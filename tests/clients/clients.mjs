// clients.mjs - real client libraries against `tinyembed serve` with an
// embedder (emb, the first model), a classifier (cls) and a cross-encoder
// (ce): prints one JSON object of what each client got, for
// tests/cli_serve_clients.sh to compare with the CLI (te_embed,
// te_classify, te_rerank in process).
//   node clients.mjs PORT QUERY DOC1 DOC2 ...
import { InferenceClient } from "@huggingface/inference";
import { OpenAIEmbeddings } from "@langchain/openai";
import { CohereClient, CohereClientV2 } from "cohere-ai";
import OpenAI from "openai";

const [port, query, ...docs] = process.argv.slice(2);
const base = `http://127.0.0.1:${port}`;
const out = {};

// Hugging Face: the server's base URL (POST /, TEI's and the Inference API's
// route), a model's base URL (/models/NAME) and a route's URL.
const hf = new InferenceClient();
out.hf_feature_base = await hf.featureExtraction({ endpointUrl: base, inputs: query });
out.hf_feature_route = await hf.featureExtraction({ endpointUrl: `${base}/embed`, inputs: docs });
out.hf_feature_model = await hf.featureExtraction({ endpointUrl: `${base}/models/emb`, inputs: query });
out.hf_classify_model = await hf.textClassification({ endpointUrl: `${base}/models/cls`, inputs: query });
const pair = { source_sentence: query, sentences: docs };
out.hf_similarity_base = await hf.sentenceSimilarity({ endpointUrl: base, inputs: pair });
out.hf_similarity_route = await hf.sentenceSimilarity({ endpointUrl: `${base}/similarity`, inputs: pair });

// LangChain's OpenAI embeddings.
const lc = new OpenAIEmbeddings({ model: "emb", apiKey: "none", configuration: { baseURL: `${base}/v1` } });
out.langchain_query = await lc.embedQuery(query);
out.langchain_docs = await lc.embedDocuments(docs);

// Cohere: rerank v1 and v2, embed v2.
const co1 = new CohereClient({ token: "none", environment: base });
const r1 = await co1.rerank({ model: "ce", query, documents: docs, topN: 2, returnDocuments: true });
out.cohere_rerank_v1 = r1.results.map((r) => [r.index, r.relevanceScore, r.document?.text ?? null]);
const co2 = new CohereClientV2({ token: "none", environment: base });
const r2 = await co2.rerank({ model: "ce", query, documents: docs });
out.cohere_rerank_v2 = r2.results.map((r) => [r.index, r.relevanceScore, r.document?.text ?? null]);
const r3 = await co2.rerank({ model: "ce", query, documents: docs, maxTokensPerDoc: 2 });
out.cohere_rerank_v2_cut = r3.results.map((r) => [r.index, r.relevanceScore]);
const e2 = await co2.embed({ model: "emb", texts: docs, inputType: "search_document", embeddingTypes: ["float"] });
out.cohere_embed_v2 = e2.embeddings.float;
const e3 = await co2.embed({
  model: "emb", texts: docs, inputType: "search_query", embeddingTypes: ["float", "int8", "uint8", "binary", "ubinary"],
});
out.cohere_embed_types = e3.embeddings;

// OpenAI: base64 (the client's default), float, dimensions, and a base URL without /v1.
const oa = new OpenAI({ apiKey: "none", baseURL: `${base}/v1`, maxRetries: 0 });
out.openai_base64 = (await oa.embeddings.create({ model: "emb", input: docs })).data.map((d) => Array.from(d.embedding));
out.openai_float = (await oa.embeddings.create({ model: "emb", input: query, encoding_format: "float" })).data[0].embedding;
out.openai_dims = (await oa.embeddings.create({ model: "emb", input: query, dimensions: 16 })).data[0].embedding;
const tei = new OpenAI({ apiKey: "none", baseURL: base, maxRetries: 0 });
out.openai_no_v1 = (await tei.embeddings.create({ model: "emb", input: query })).data[0].embedding;

console.log(JSON.stringify(out));
