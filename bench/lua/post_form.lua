-- W3 / W5: the same form POST on every request.
-- BODY: the form body; BASIC: the Authorization header value.
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("BASIC")
