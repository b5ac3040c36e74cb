"""An ONNX-imported scikit-learn MLP: Modelwire's ML core (OnnxBench, in-process, one thread) beside
onnxruntime's InferenceSession.run on the same file (one intra-op and one inter-op thread), at 1 row and
1024 rows per call, alternated A B A B in one sitting; each side keeps its best round.

onnxruntime's figure includes the Python call overhead of InferenceSession.run (numpy in, numpy out);
OnnxBench's is a Swift call of TrainedModel.predictProbabilities. Usage (onnx.sh runs it):
    python onnx_bench.py ONNXBENCH_BINARY WORK_DIR [ROUNDS]
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort
import sklearn
import skl2onnx
from skl2onnx import to_onnx
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier

binary, work = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
os.makedirs(work, exist_ok=True)

X, y = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)
peer = MLPClassifier((100,), max_iter=300, random_state=0).fit(X, y)  # 64 -> 100 relu -> 10 softmax
model = to_onnx(peer, X[:1], options={id(peer): {"zipmap": False}})
path = os.path.join(work, "mlp-digits.onnx")
with open(path, "wb") as f:
    f.write(model.SerializeToString())
rows = np.resize(X, (1024, X.shape[1])).astype(np.float32)
rows_path = os.path.join(work, "rows.f32")
rows.tofile(rows_path)

options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
input_name = session.get_inputs()[0].name
probabilities = [o.name for o in session.get_outputs()][1]


def onnxruntime_best(batch, calls):
    feed = {input_name: batch}
    for _ in range(calls // 10):
        session.run([probabilities], feed)
    start = time.perf_counter()
    for _ in range(calls):
        session.run([probabilities], feed)
    return (time.perf_counter() - start) / calls


ours = {1: float("inf"), 1024: float("inf")}
theirs = {1: float("inf"), 1024: float("inf")}
for _ in range(rounds):  # A B A B: Modelwire (best of 3 timings inside), then onnxruntime
    result = json.loads(subprocess.run([binary, path, rows_path, "3"], check=True, capture_output=True,
                                       text=True).stdout)
    for n in (1, 1024):
        ours[n] = min(ours[n], result[f"rows_{n}_seconds"])
        theirs[n] = min(theirs[n], min(onnxruntime_best(rows[:n], 20000 if n == 1 else 100) for _ in range(3)))

# The two sides compute the same probabilities (the peer check of tests/test_onnx.py, here on these rows).
reference = session.run([probabilities], {input_name: rows})[0]
assert np.abs(reference - peer.predict_proba(rows)).max() < 1e-5

print(f"scikit-learn {sklearn.__version__}, skl2onnx {skl2onnx.__version__}, onnxruntime {ort.__version__}; "
      f"MLPClassifier 64-100-10 (relu, softmax) on digits; load {os.getloadavg()[0]:.1f}")
print()
print("| rows per call | Modelwire ML core (µs/call) | onnxruntime run (µs/call, incl. Python) | Modelwire speed-up | goal |")
print("|---|---|---|---|---|")
for n, goal in ((1, 1.0), (1024, 0.8)):
    ratio = theirs[n] / ours[n]
    print(f"| {n} | {ours[n] * 1e6:.1f} | {theirs[n] * 1e6:.1f} | {ratio:.2f}x | >= {goal}x "
          f"{'met' if ratio >= goal else 'NOT met'} |")
