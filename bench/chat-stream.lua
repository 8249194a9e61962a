-- wrk script: one streamed chat completion per request (16 SSE chunks through the proxy).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-User-ID"] = "bench-user"
wrk.body = '{"model":"llama3.2-1b","messages":[{"role":"user","content":"Explain quantum computing in simple terms"}],"max_tokens":16,"stream":true}'
