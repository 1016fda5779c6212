"""The Python ceiling: a hello-world Flask app on the same servers as the provider.

    gunicorn --workers 2 bench.hello:app
    granian --interface wsgi bench.hello:app
    granian --interface rsgi --http 1 bench.hello:front   (what `provider serve` runs)
"""

from flask import Flask

from provider.serving.front import Front

app = Flask(__name__)
app.config.update(PROVIDER_REQUEST_READ_TIMEOUT_SECONDS=30, MAX_CONTENT_LENGTH=64 * 1024)


@app.route("/", methods=["GET", "POST"])
def hello() -> str:
    return "hello"


front = Front(app, run_jobs=False)
