-- wrk script: one non-streamed chat completion per request, as an OpenAI client sends it.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-User-ID"] = "bench-user"
wrk.body = '{"model":"llama3.2-1b","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Explain quantum computing in simple terms"}],"max_tokens":16,"temperature":0.7}'
