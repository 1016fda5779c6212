-- Shared by the scripts whose answers must be checked, not only counted. setup()
-- numbers the threads (`id`, from 1: the line of SEEDS or COOKIES a thread uses);
-- each thread counts the answers it judged wrong (`wrk.thread:set("invalid", n)`),
-- and done() prints the total as "Invalid answers: N" for bench/wrk_runner.py.
local counting_threads = {}

function setup(thread)
  table.insert(counting_threads, thread)
  thread:set("id", #counting_threads)
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(counting_threads) do
    total = total + (tonumber(thread:get("invalid")) or 0)
  end
  io.write(string.format("Invalid answers: %d\n", total))
end
