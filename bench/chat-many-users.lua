-- wrk script: the non-streamed chat completion of chat.lua, each request from one of 10,000 users.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"llama3.2-1b","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Explain quantum computing in simple terms"}],"max_tokens":16,"temperature":0.7}'

request = function()
  wrk.headers["X-User-ID"] = "bench-" .. math.random(1, 10000)
  return wrk.format()
end
