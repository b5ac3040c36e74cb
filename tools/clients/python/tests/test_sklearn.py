"""Every classic family against scikit-learn (issue 16): the same split, Modelwire trained through the
Python client on the real server, scikit-learn fitted here, each with its defaults.

Data: scikit-learn's bundled iris, breast_cancer and digits (classification) and diabetes (regression);
train_test_split(test_size=0.2, random_state=0, stratify=y). Modelwire standardises the features of its
linear families itself, so scikit-learn's linear peers get a StandardScaler in front (as tools/bench-ml
does); trees are scale-free. Test accuracy must be within ACCURACY_POINTS of scikit-learn's, the logistic
log loss within 1 %, and regression R² within R2_GAP. The gaps measured when the tolerances were set
(scikit-learn 1.9.1) are in the comments: the tolerances pass with a margin but fail on a real regression.

Skipped where scikit-learn is not installed; tools/install-deps --python puts it in .venv-peers/, which
tools/clients/run-tests uses, so tools/test always runs this file.
"""
import math

import pytest

sklearn = pytest.importorskip("sklearn")
np = pytest.importorskip("numpy")

from sklearn import datasets  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    HistGradientBoostingClassifier, HistGradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor)
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import log_loss, r2_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402

import modelwire  # noqa: E402
from conftest import ServerProcess  # noqa: E402
from modelwire import pb  # noqa: E402

SEED = 0

# Largest allowed |Modelwire - scikit-learn| test accuracy, in points (percent), per family: issue 16's goals
# (logistic 0.3, linear SVM 0.5, tree 1, forest 0.5, gbdt 0.5). Test rows: iris 30 (one row = 3.3 pt),
# breast_cancer 114 (0.88 pt), digits 360 (0.28 pt). The tree and the forest are random on both sides (split
# ties broken by a random feature order per node; the forest's bootstrap and feature draws): one seed's
# accuracy is a draw (scikit-learn's digits tree spans 0.833-0.878 over random_state 0-9), so they compare the
# mean test accuracy over seeds 0..N-1 on each side (ACCURACY_SEEDS); the seeds are fixed, so the comparison is
# reproducible. Logistic, SVM and gbdt (no early stopping below 10,000 rows) do not depend on the seed.
# Measured (scikit-learn 1.9.1, 2026-12-02): logistic and linear SVM 0.00 on all three; tree (20 seeds) 0.00,
# +0.61, +0.18; forest (100, 30, 30 seeds) -0.10, -0.18, +0.06; gbdt 0.00, 0.00, +0.28.
ACCURACY_POINTS = {"logistic": 0.3, "linear_svm": 0.5, "tree": 1.0, "forest": 0.5, "gbdt": 0.5}
ACCURACY_SEEDS = {"tree": {"iris": 20, "breast_cancer": 20, "digits": 20},
                  "forest": {"iris": 100, "breast_cancer": 30, "digits": 30}}
LOG_LOSS_RELATIVE = 0.01
# R² on diabetes, largest allowed |Modelwire - scikit-learn| per model (issue 16: 0.02). Measured (scikit-learn
# 1.9.1): forest -0.004, gbdt -0.003, depth-3 tree 0.000. The unlimited tree (both defaults) fits the noise of
# 353 rows down to one row per leaf and scores R² < 0 on both sides; which of the equally good splits of a 2-3
# row node it takes decides its R². Both sides break those ties by trying the features in a random order per
# node, so one seed's R² is a draw: scikit-learn's spans about ±0.08 (standard deviation) over random_state,
# Modelwire's the same over its seed. That spread is inherent to the model, so the unlimited tree compares the
# mean R² over seeds 0..TREE_SEEDS-1 on each side: 200 seeds make the standard error of the difference of the
# means ~0.008 (0.08 · √(2/200)), so 0.02 is 2.5 of them. Measured: -0.4881 against -0.4863 (-0.002).
R2_GAP = {"tree": 0.02, "tree_depth3": 0.02, "forest": 0.02, "gbdt": 0.02}
TREE_SEEDS = 200

CLASSIFIERS = {
    "logistic": lambda seed: make_pipeline(StandardScaler(), LogisticRegression()),
    "linear_svm": lambda seed: make_pipeline(StandardScaler(), LinearSVC()),
    "tree": lambda seed: DecisionTreeClassifier(random_state=seed),
    "forest": lambda seed: RandomForestClassifier(n_jobs=1, random_state=seed),
    "gbdt": lambda seed: HistGradientBoostingClassifier(random_state=seed),
}
REGRESSORS = {
    "tree": lambda seed: DecisionTreeRegressor(random_state=seed),
    "tree_depth3": lambda seed: DecisionTreeRegressor(max_depth=3, random_state=seed),
    "forest": lambda seed: RandomForestRegressor(n_jobs=1, random_state=seed),
    "gbdt": lambda seed: HistGradientBoostingRegressor(random_state=seed),
}
LOADERS = {"iris": datasets.load_iris, "breast_cancer": datasets.load_breast_cancer, "digits": datasets.load_digits,
           "diabetes": datasets.load_diabetes}

_splits = {}


def split(name):
    """(X_train, X_test, y_train, y_test) as float32 features (what the wire carries) for both sides."""
    if name not in _splits:
        X, y = LOADERS[name](return_X_y=True)
        X = X.astype(np.float32)
        stratify = None if name == "diabetes" else y
        _splits[name] = train_test_split(X, y, test_size=0.2, random_state=SEED, stratify=stratify)
    return _splits[name]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    server = ServerProcess(str(tmp_path_factory.mktemp("sklearn-repo")))
    try:
        with server.client() as c:
            yield c
    finally:
        server.terminate()


def labelled(X, y, classes):
    return modelwire.dataset(X, labels=[int(v) for v in y], class_names=[str(c) for c in range(classes)])


def ours_classifier(client, name, family, X_train, y_train, X_test, y_test, seed=SEED):
    """Trains `family` with its defaults: (test accuracy, test log loss or None), checked against predict."""
    classes = int(max(y_train.max(), y_test.max())) + 1
    model = f"{name}-{family}-{seed}"
    client.train(model, labelled(X_train, y_train, classes), family, pb.TrainingOptions(seed=seed)).wait()
    metrics = client.evaluate(model, labelled(X_test, y_test, classes)).evaluation.classification
    predicted = np.array(client.predict(model, X_test).class_ids)
    assert math.isclose(metrics.accuracy, float((predicted == y_test).mean()), abs_tol=1e-6)
    return metrics.accuracy, (metrics.log_loss if metrics.HasField("log_loss") else None)


@pytest.mark.parametrize("family", list(CLASSIFIERS))
@pytest.mark.parametrize("name", ["iris", "breast_cancer", "digits"])
def test_accuracy_against_sklearn(client, name, family):
    X_train, X_test, y_train, y_test = split(name)
    seeds = ACCURACY_SEEDS.get(family, {}).get(name, 1)
    ours_runs = [ours_classifier(client, name, family, X_train, y_train, X_test, y_test, seed) for seed in range(seeds)]
    peers = [CLASSIFIERS[family](seed).fit(X_train, y_train) for seed in range(seeds)]
    ours = float(np.mean([accuracy for accuracy, _ in ours_runs]))
    theirs = float(np.mean([(peer.predict(X_test) == y_test).mean() for peer in peers]))
    ours_log_loss, peer = ours_runs[0][1], peers[0]
    gap = 100 * (ours - theirs)
    print(f"{name} {family} ({seeds} seeds): modelwire {ours:.4f}, scikit-learn {theirs:.4f}, {gap:+.2f} pt")
    assert abs(gap) <= ACCURACY_POINTS[family], (
        f"{name} {family}: test accuracy {ours:.4f} against scikit-learn's {theirs:.4f} ({gap:+.2f} pt)")
    if family == "logistic":
        theirs_log_loss = log_loss(y_test, peer.predict_proba(X_test), labels=peer.classes_)
        relative = ours_log_loss / theirs_log_loss - 1
        print(f"{name} logistic log loss: modelwire {ours_log_loss:.5f}, scikit-learn {theirs_log_loss:.5f}, "
              f"{100 * relative:+.2f} %")
        assert abs(relative) <= LOG_LOSS_RELATIVE, (
            f"{name}: log loss {ours_log_loss:.5f} against scikit-learn's {theirs_log_loss:.5f}")
    elif family == "linear_svm":
        assert ours_log_loss is None  # decision scores, not probabilities
    else:
        assert ours_log_loss is not None and ours_log_loss > 0


def ours_regression_r2(client, family, X_train, y_train, X_test, y_test, seed):
    model = f"diabetes-{family}-{seed}"
    spec = pb.ModelSpec(task=pb.TASK_REGRESSION)
    if family == "tree_depth3":
        spec.tree.max_depth = 3
    else:
        getattr(spec, family).SetInParent()  # the family with its defaults
    client.train(model, modelwire.dataset(X_train, targets=y_train), spec, pb.TrainingOptions(seed=seed)).wait()
    metrics = client.evaluate(model, modelwire.dataset(X_test, targets=y_test)).evaluation.regression
    predicted = np.array(client.predict(model, X_test).values, dtype=np.float64)
    assert math.isclose(metrics.r2, r2_score(y_test, predicted), abs_tol=1e-4)
    client.delete_model(model)
    return metrics.r2


@pytest.mark.parametrize("family", list(REGRESSORS))
def test_diabetes_r2_against_sklearn(client, family):
    X_train, X_test, y_train, y_test = split("diabetes")
    seeds = range(TREE_SEEDS) if family == "tree" else [SEED]
    ours = np.mean([ours_regression_r2(client, family, X_train, y_train, X_test, y_test, s) for s in seeds])
    theirs = np.mean([r2_score(y_test, REGRESSORS[family](s).fit(X_train, y_train).predict(X_test)) for s in seeds])
    gap = ours - theirs
    print(f"diabetes {family}: modelwire R² {ours:.4f}, scikit-learn {theirs:.4f}, {gap:+.4f}"
          f" (mean of {len(seeds)} seeds)")
    assert abs(gap) <= R2_GAP[family], f"diabetes {family}: R² {ours:.4f} against scikit-learn's {theirs:.4f}"
