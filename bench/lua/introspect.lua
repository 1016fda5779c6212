-- W5: introspection of one access token (BODY "token=..."), by the service client
-- (BASIC); an answer that does not say the token is active is invalid.
dofile(os.getenv("LUA_DIR") .. "/counting.lua")
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("BASIC")
invalid = 0

function response(status, headers, body)
  if not body:find('"active"%s*:%s*true') then
    invalid = invalid + 1
    wrk.thread:set("invalid", invalid)
  end
end
