-- loadtest.lua - wrk script for tests/loadtest.sh: POST /v1/embeddings with
-- one short text per request, cycling through a few sentences.
local texts = {
  "The quick brown fox jumps over the lazy dog.",
  "A man is playing a guitar on the street.",
  "How do I reset my password?",
  "Embeddings map sentences to vectors.",
  "It rains in the mountains tonight.",
}
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i % #texts + 1
  return wrk.format(nil, "/v1/embeddings", nil, '{"input": "' .. texts[i] .. '"}')
end
