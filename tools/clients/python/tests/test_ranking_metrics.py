"""Evaluate's ROC-AUC and average precision equal scikit-learn's roc_auc_score and
average_precision_score on the scores the model itself gives (Predict with include_probabilities),
for probabilities (logistic, gbdt) and decision values (linear SVM), binary and multiclass.

Skipped where scikit-learn is not installed (tools/install-deps --python puts it in .venv-peers/).
"""
import pytest

sklearn = pytest.importorskip("sklearn")
np = pytest.importorskip("numpy")

from sklearn import datasets  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import label_binarize  # noqa: E402

import modelwire  # noqa: E402
from modelwire import pb  # noqa: E402

LOADERS = {"breast_cancer": datasets.load_breast_cancer, "iris": datasets.load_iris}


def scores_of(client, model, X):
    """rows x classes scores from Predict: probabilities, or a binary model's one decision column as (-s, s)."""
    answer = client.predict(model, X, include_probabilities=True)
    columns = answer.scores.columns
    values = np.array(answer.scores.values, dtype=np.float64).reshape(-1, columns)
    return np.hstack([-values, values]) if columns == 1 else values


@pytest.mark.parametrize("family", ["logistic", "svm", "gbdt"])
@pytest.mark.parametrize("name", ["breast_cancer", "iris"])
def test_roc_auc_and_average_precision_equal_sklearn(client, name, family):
    X, y = LOADERS[name](return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X.astype(np.float32), y, test_size=0.3, random_state=1,
                                                        stratify=y)
    classes = int(y.max()) + 1
    names = [str(c) for c in range(classes)]
    model = f"ranking-{name}-{family}"
    train = modelwire.dataset(X_train, labels=[int(v) for v in y_train], class_names=names)
    client.train(model, train, family, pb.TrainingOptions(seed=3)).wait()
    test = modelwire.dataset(X_test, labels=[int(v) for v in y_test], class_names=names)
    metrics = client.evaluate(model, test).evaluation.classification
    scores = scores_of(client, model, X_test)
    if classes == 2:
        auc_macro = auc_weighted = roc_auc_score(y_test, scores[:, 1])
        ap = average_precision_score(y_test, scores[:, 1])
    else:  # one-vs-rest by hand: roc_auc_score refuses multiclass scores that are not probabilities
        per_class = [roc_auc_score(y_test == c, scores[:, c]) for c in range(classes)]
        support = np.bincount(y_test, minlength=classes)
        auc_macro, auc_weighted = float(np.mean(per_class)), float(np.average(per_class, weights=support))
        ap = average_precision_score(label_binarize(y_test, classes=list(range(classes))), scores)
    print(f"{name} {family}: roc_auc {metrics.roc_auc_macro:.6f} / sklearn {auc_macro:.6f}, "
          f"ap {metrics.average_precision:.6f} / sklearn {ap:.6f}")
    assert metrics.HasField("roc_auc_macro") and metrics.HasField("average_precision")
    assert metrics.roc_auc_macro == pytest.approx(auc_macro, abs=1e-5)
    assert metrics.roc_auc_weighted == pytest.approx(auc_weighted, abs=1e-5)
    assert metrics.average_precision == pytest.approx(ap, abs=1e-5)


def test_ranking_metrics_are_absent_when_a_class_has_no_rows(client):
    X, y = datasets.load_iris(return_X_y=True)
    names = ["0", "1", "2"]
    data = modelwire.dataset(X.astype(np.float32), labels=[int(v) for v in y], class_names=names)
    client.train("ranking-iris-absent", data, "logistic", pb.TrainingOptions(seed=3)).wait()
    two_classes = y < 2
    subset = modelwire.dataset(X[two_classes].astype(np.float32), labels=[int(v) for v in y[two_classes]],
                               class_names=names)
    metrics = client.evaluate("ranking-iris-absent", subset).evaluation.classification
    assert not metrics.HasField("roc_auc_macro") and not metrics.HasField("average_precision")
