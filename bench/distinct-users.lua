-- wrk script: every request comes from a user never seen before, until USERS requests were sent
-- in all (each thread sends its share, then stops). For bench/distinct-users.sh.
local body = '{"model":"llama3.2-1b","messages":[{"role":"user","content":"Hi"}],"max_tokens":4}'
local users = tonumber(os.getenv("USERS") or "200000")
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local sent, share, statuses = 0, 0, {}
function init(args)
  share = math.floor(users / 2)
end
function request()
  sent = sent + 1
  return wrk.format("POST", "/api/v1/chat/completions",
    {["Content-Type"] = "application/json", ["X-User-ID"] = string.format("u%d-%d", tid, sent)}, body)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if sent >= share then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  io.write(string.format("sent %d requests, %d errors (connect %d, read %d, timeout %d, status %d)\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.timeout
      + summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.timeout, summary.errors.status))
end
