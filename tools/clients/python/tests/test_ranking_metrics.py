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


class _Served:
    """A scikit-learn estimator whose predict is the served model's, so permutation_importance can call it."""

    def __init__(self, client, model, kind):
        self.client, self.model, self._estimator_type = client, model, kind

    def fit(self, X, y):
        return self

    def predict(self, X):
        answer = self.client.predict(self.model, np.asarray(X, dtype=np.float32))
        return np.array(answer.class_ids if self._estimator_type == "classifier" else answer.values)

    def score(self, X, y):
        from sklearn.metrics import accuracy_score, r2_score
        predicted = self.predict(X)
        return accuracy_score(y, predicted) if self._estimator_type == "classifier" else r2_score(y, predicted)


@pytest.mark.parametrize("name,family,task", [("iris", "logistic", "classifier"), ("diabetes", "gbdt", "regressor")])
def test_permutation_importance_agrees_with_sklearn(client, name, family, task):
    """Both shuffle with their own generators, so the means agree within their sampling error, and the
    features whose importances differ clearly are ranked alike."""
    from sklearn.inspection import permutation_importance
    X, y = (datasets.load_iris if name == "iris" else datasets.load_diabetes)(return_X_y=True)
    X = X.astype(np.float32)
    feature_names = [f"f{i}" for i in range(X.shape[1])]
    if task == "classifier":
        data = modelwire.dataset(X, labels=[int(v) for v in y], class_names=["0", "1", "2"],
                                 feature_names=feature_names)
        spec = family
    else:
        data = modelwire.dataset(X, targets=y, feature_names=feature_names)
        spec = pb.ModelSpec(task=pb.TASK_REGRESSION, gbdt=pb.GradientBoostingSpec())
    model = f"importance-{name}"
    client.train(model, data, spec, pb.TrainingOptions(seed=5)).wait()
    repeats = 30
    ours = client.evaluate(model, data, permutation_repeats=repeats, permutation_seed=11).permutation_importance
    assert [i.feature for i in ours] == feature_names
    theirs = permutation_importance(_Served(client, model, task), X, y, n_repeats=repeats, random_state=0)
    for i, importance in enumerate(ours):
        error = 3 * np.hypot(importance.std, theirs.importances_std[i]) / np.sqrt(repeats) + 0.005
        print(f"{name} {importance.feature}: {importance.mean:.4f} ± {importance.std:.4f}, "
              f"sklearn {theirs.importances_mean[i]:.4f} ± {theirs.importances_std[i]:.4f}")
        assert abs(importance.mean - theirs.importances_mean[i]) <= error
    ranked = np.argsort([-i.mean for i in ours])
    means = np.array([i.mean for i in ours])
    for a, b in zip(ranked, ranked[1:]):
        if means[a] - means[b] > 0.05:
            assert theirs.importances_mean[a] > theirs.importances_mean[b]


def test_permutation_importance_bounds(client):
    X, y = datasets.load_iris(return_X_y=True)
    data = modelwire.dataset(X.astype(np.float32), labels=[int(v) for v in y], class_names=["0", "1", "2"])
    client.train("importance-bounds", data, "logistic", pb.TrainingOptions(seed=5)).wait()
    with pytest.raises(modelwire.InvalidArgument, match="permutation_repeats must be in 0...100"):
        client.evaluate("importance-bounds", data, permutation_repeats=101)
    assert len(client.evaluate("importance-bounds", data).permutation_importance) == 0
