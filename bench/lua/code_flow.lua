-- W7: a full code + PKCE round trip for a logged-in session, per thread:
-- GET the authorization endpoint with the session cookie, read the code from the
-- Location header, exchange it at the token endpoint, and again. Run with -t N -c N
-- (one connection per thread, so requests and responses alternate); line `id` of
-- COOKIES is the thread's session. Two requests make one flow.
dofile(os.getenv("LUA_DIR") .. "/counting.lua")

function init(args)
  local line_no = 0
  for line in io.lines(os.getenv("COOKIES")) do
    line_no = line_no + 1
    if line_no == id then cookie = line end
  end
  basic = os.getenv("BASIC")
  authorize_path = os.getenv("AUTHORIZE_PATH")
  token_path = os.getenv("TOKEN_PATH")
  token_body = os.getenv("TOKEN_BODY")  -- without the code
  code = nil
  exchanging = false
  invalid = 0
end

function request()
  if code then
    local body = token_body .. "&code=" .. code
    code = nil
    exchanging = true
    return wrk.format("POST", token_path, {
      ["Authorization"] = basic,
      ["Content-Type"] = "application/x-www-form-urlencoded",
    }, body)
  end
  exchanging = false
  return wrk.format("GET", authorize_path, {["Cookie"] = cookie})
end

function response(status, headers, body)
  if exchanging then
    -- the token answer: it must carry tokens
    if status ~= 200 or not body:find('"access_token"') then invalid = invalid + 1 end
  else
    -- the authorization answer: a redirect with a code, not a trip to a login page
    local location = headers["Location"] or headers["location"]
    code = location and location:match("[?&]code=([^&]+)")
    if not code then invalid = invalid + 1 end
  end
  wrk.thread:set("invalid", invalid)
end
