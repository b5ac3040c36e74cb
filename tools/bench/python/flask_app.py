"""Flask peer of tools/bench: JSON /predict as the usual tutorial writes it, the reference net
in numpy. `python flask_app.py PORT` runs Flask's own server (app.run); gunicorn serves `flask_app:app`."""
import sys

import numpy as np
from flask import Flask, jsonify, request

from model import CLASS_NAMES, ReferenceNet

app = Flask(__name__)
net = ReferenceNet()


@app.route("/predict", methods=["POST"])
def predict():
    payload = request.get_json()
    features = np.asarray(payload["instances"], dtype=np.float32)
    if features.ndim != 2 or features.shape[1] != 100:
        return jsonify(error="expected rows x 100 features"), 400
    classes = net.predict_classes(features)
    return jsonify(predictions=[CLASS_NAMES[c] for c in classes], class_ids=classes.tolist())


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]))
