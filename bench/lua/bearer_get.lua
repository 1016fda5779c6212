-- W6: UserInfo with one valid access token (TOKEN).
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
