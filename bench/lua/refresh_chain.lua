-- W4: every request presents a never-used refresh token. Run with as many threads
-- as connections (-t N -c N): each thread has one connection and follows its own
-- rotation chain, starting from line `id` + SEED_OFFSET of the SEEDS file (the
-- measured run starts from tokens the warm-up never used).
dofile(os.getenv("LUA_DIR") .. "/counting.lua")

function init(args)
  local line_no = 0
  local wanted = id + tonumber(os.getenv("SEED_OFFSET") or "0")
  for line in io.lines(os.getenv("SEEDS")) do
    line_no = line_no + 1
    if line_no == wanted then token = line end
  end
  basic = os.getenv("BASIC")
  path = wrk.path
  invalid = 0
end

function request()
  return wrk.format("POST", path, {
    ["Authorization"] = basic,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local successor = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if successor then
    token = successor
  else
    invalid = invalid + 1  -- the chain is broken from here on
    wrk.thread:set("invalid", invalid)
  end
end
