-- Shared by the scripts whose answers must be checked, not only counted: each
-- thread counts the answers it judged wrong (`invalid = invalid + 1`), and done()
-- prints the total as "Invalid answers: N", which bench/wrk_runner.py reads.
local counting_threads = {}

function count_thread(thread)
  table.insert(counting_threads, thread)
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(counting_threads) do
    total = total + (tonumber(thread:get("invalid")) or 0)
  end
  io.write(string.format("Invalid answers: %d\n", total))
end
