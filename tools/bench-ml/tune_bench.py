"""Tune's benchmark (issue 15): the grid hidden=32|64,64; learning-rate=0.001|0.01; l2=0|0.0001 on all of
digits (1,797 rows), 5 folds, through a release modelwire-server, beside scikit-learn's
GridSearchCV(MLPClassifier, n_jobs=1) on the same grid and the same folds (StratifiedKFold(5) without
shuffling, passed to both), in the same sitting. Both sides: adam, EPOCHS epochs (MLPClassifier max_iter,
tol 0 and n_iter_no_change = max_iter so every epoch runs; no early stopping), batch size 32, the features
standardised per fold (Modelwire itself; scikit-learn a StandardScaler in the Pipeline), f1_macro, and a
refit of the best on all rows (GridSearchCV refit=True). The l2 values are each side's own penalty
(Modelwire's weight decay, MLPClassifier's alpha): the same numbers, not the same regulariser.
usage: tune_bench.py SERVER_BINARY WORK_DIR [EPOCHS] [MAX_CONCURRENT_JOBS]"""
import datetime
import os
import subprocess
import sys
import time

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import modelwire
from modelwire import pb

server_binary, work = sys.argv[1], sys.argv[2]
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
jobs = int(sys.argv[4]) if len(sys.argv) > 4 else 2
repo_data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data")

data = modelwire.read_csv(os.path.join(repo_data, "digits.csv"))
columns = data.features.columns
X = np.array(data.features.values, dtype=np.float32).reshape(-1, columns)
y = np.array(data.class_ids)
folds = [test.tolist() for _, test in StratifiedKFold(5).split(X, y)]
cv = [(np.setdiff1d(np.arange(len(y)), test), np.array(test)) for test in folds]

os.makedirs(work, exist_ok=True)
port_file = os.path.join(work, "port")
if os.path.exists(port_file):
    os.remove(port_file)
repository = os.path.join(work, "repository")
subprocess.run(["rm", "-rf", repository], check=True)
print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}, "
      f"epochs {epochs}, --max-concurrent-jobs {jobs}")
server = subprocess.Popen([server_binary, "--port", "0", "--repository", repository, "--port-file", port_file,
                           "--max-concurrent-jobs", str(jobs)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        if os.path.exists(port_file) and open(port_file).read().strip():
            break
        time.sleep(0.1)
    host, port = open(port_file).read().strip().rsplit(":", 1)
    with modelwire.Client(host, int(port)) as client:
        grid = [("hidden", ["32", "64,64"]), ("learning-rate", ["0.001", "0.01"]), ("l2", ["0", "0.0001"])]
        options = pb.TrainingOptions(epochs=epochs, batch_size=32, seed=0)
        started = time.perf_counter()
        result = client.tune("digits", data, "mlp", grid, explicit_folds=folds, metric="f1_macro",
                             options=options).wait()
        ours_seconds = time.perf_counter() - started
    ours = {tuple(s.value for s in t.settings): t.mean for t in result.tune.trials}
    ours_best = result.tune.trials[result.tune.best]
finally:
    server.terminate()
    server.wait()

peer = GridSearchCV(
    make_pipeline(StandardScaler(), MLPClassifier(solver="adam", max_iter=epochs, batch_size=32, tol=0.0,
                                                  n_iter_no_change=epochs, early_stopping=False, random_state=0)),
    {"mlpclassifier__hidden_layer_sizes": [(32,), (64, 64)], "mlpclassifier__learning_rate_init": [0.001, 0.01],
     "mlpclassifier__alpha": [0.0, 0.0001]},
    cv=cv, scoring="f1_macro", n_jobs=1, refit=True)
import warnings  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
warnings.simplefilter("ignore", ConvergenceWarning)
started = time.perf_counter()
peer.fit(X, y)
theirs_seconds = time.perf_counter() - started

print("| configuration (hidden, learning rate, l2) | Modelwire f1_macro | GridSearchCV f1_macro |")
print("|---|---:|---:|")
for params, score in zip(peer.cv_results_["params"], peer.cv_results_["mean_test_score"]):
    hidden = ",".join(str(u) for u in params["mlpclassifier__hidden_layer_sizes"])
    rate = str(params["mlpclassifier__learning_rate_init"])
    l2 = "0" if params["mlpclassifier__alpha"] == 0 else "0.0001"
    print(f"| {hidden}, {rate}, {l2} | {ours[(hidden, rate, l2)]:.4f} | {score:.4f} |")
best_ours = ours_best.mean
best_theirs = peer.best_score_
print(f"\nModelwire Tune: {ours_seconds:.1f} s wall (40 fits + refit), best {best_ours:.4f} "
      f"({', '.join(f'{s.name}={s.value}' for s in ours_best.settings)})")
print(f"GridSearchCV(n_jobs=1): {theirs_seconds:.1f} s wall, best {best_theirs:.4f} ({peer.best_params_})")
print(f"speed-up {theirs_seconds / ours_seconds:.1f}x, best score gap {100 * (best_ours - best_theirs):+.2f} pt; "
      f"load average after {os.getloadavg()}")
