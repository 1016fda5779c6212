"""The Python ceiling: a hello-world Flask app on the same servers as the provider.

    gunicorn --workers 2 bench.hello:app   /   granian --interface wsgi bench.hello:app
"""

from flask import Flask

app = Flask(__name__)


@app.route("/", methods=["GET", "POST"])
def hello() -> str:
    return "hello"
