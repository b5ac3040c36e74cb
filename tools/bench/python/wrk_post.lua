-- wrk script of tools/bench: POST the JSON body in $BENCH_BODY_FILE to /predict.
local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "r"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
