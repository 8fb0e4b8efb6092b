-- soak.lua - wrk script for tests/soak.sh: POST /v1/embeddings, one short
-- text per request, 1 to 40 words drawn at random (a different text nearly
-- every request, so no cache or batch shape repeats).
local words = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "embedding", "vectors",
  "search", "café", "naïve", "日本語", "테스트", "unbelievable", "tokenization", "42", "3.14", "e-mail"}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local t = {}
  for k = 1, math.random(1, 40) do t[k] = words[math.random(#words)] end
  return wrk.format(nil, "/v1/embeddings", nil, '{"input": "' .. table.concat(t, " ") .. '"}')
end
