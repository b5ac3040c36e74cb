"""Explain (issue 15) through the Python client against the real server (mirrors ExplainCallTests.swift),
and the TreeSHAP peer tests: shap's TreeExplainer on the exported nodes of a Modelwire tree, forest
and gbdt gives the server's attributions within 1e-6."""
import pytest

import modelwire
from modelwire import pb
from conftest import dataset, options

np = pytest.importorskip("numpy")


def test_explain_a_dense_net_returns_numpy_arrays_and_completeness_holds(client):
    digits = dataset("digits")
    client.train("net", digits, {"dense": {"hidden": [{"units": 32}]}}, options(5)).wait()
    explanation = client.explain("net", digits, rows=[0, 5, 9])
    assert explanation.method == "ig" and explanation.output == "probability"
    assert explanation.rows == [0, 5, 9]
    assert isinstance(explanation.attributions, np.ndarray)
    assert explanation.attributions.shape == (3, len(digits.feature_names))
    gap = np.abs(explanation.values - explanation.baseline_values)
    assert np.all(explanation.completeness_errors <= 0.01 * np.maximum(gap, 1e-3))
    np.testing.assert_allclose(explanation.attributions.sum(axis=1), explanation.values - explanation.baseline_values,
                               atol=0.01 * max(gap.max(), 1e-3))


def test_explain_refuses_a_method_of_another_family(client):
    iris = dataset("iris")
    client.train("lr", iris, "logistic", options(5)).wait()
    with pytest.raises(modelwire.ModelwireError) as error:
        client.explain("lr", iris, method="treeshap")
    assert error.value.code == pb.STATUS_CODE_INVALID_ARGUMENT and "method treeshap does not apply" in str(error.value)
    with pytest.raises(modelwire.ModelwireError, match="rows: row index 999"):
        client.explain("lr", iris, rows=[999])


def _shap_tree(tree, columns, scale=1.0):
    """shap's custom tree dict from a ModelFile TreeParameters (shap also goes left when x <= threshold)."""
    feature = np.asarray(tree.feature, dtype=np.int32)
    left = np.asarray(tree.left, dtype=np.int32)
    return {
        "children_left": left,
        "children_right": np.asarray(tree.right, dtype=np.int32),
        "children_default": left,
        "features": np.where(feature < 0, -2, feature),
        "thresholds": np.asarray(tree.threshold, dtype=np.float32).astype(np.float64),
        "values": np.asarray(tree.value, dtype=np.float64).reshape(len(feature), tree.outputs) * scale,
        "node_sample_weight": np.asarray(tree.weight, dtype=np.float64),
    }


@pytest.mark.parametrize("family", ["tree", "forest"])
def test_treeshap_equals_shap_tree_explainer(client, family):
    shap = pytest.importorskip("shap", reason="shap is not in the peers' venv (tools/install-deps --python)")
    iris = dataset("iris")
    spec = {"tree": pb.ModelSpec(tree=pb.DecisionTreeSpec(max_depth=5)),
            "forest": pb.ModelSpec(forest=pb.ForestSpec(trees=10, tree=pb.DecisionTreeSpec(max_depth=4)))}[family]
    client.train("m", iris, spec, options(1)).wait()
    model_file = pb.ModelFile.FromString(client.export_model("m").model_file)
    trees = [model_file.tree] if family == "tree" else list(model_file.forest.trees)
    columns = len(iris.feature_names)
    assert all(len(t.weight) == len(t.feature) for t in trees)
    explainer = shap.TreeExplainer({"trees": [_shap_tree(t, columns, 1.0 / len(trees)) for t in trees],
                                    "input_dtype": np.float32, "internal_dtype": np.float64},
                                   feature_perturbation="tree_path_dependent")
    x = np.asarray(iris.features.values, dtype=np.float32).reshape(-1, columns)
    values = np.asarray(explainer.shap_values(x))  # rows × features × classes (shap 0.51)
    expected = np.asarray(explainer.expected_value).reshape(-1)
    for target in range(len(iris.class_names)):
        ours = client.explain("m", iris, method="treeshap", target_class=iris.class_names[target])
        assert ours.method == "treeshap" and ours.output == "probability"
        np.testing.assert_allclose(ours.attributions, values[:, :, target], atol=1e-6, rtol=0)
        np.testing.assert_allclose(ours.baseline_values, expected[target], atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ["breast_cancer", "iris"])
def test_treeshap_of_gbdt_equals_shap_on_the_raw_score(client, name):
    """gbdt is explained on the raw score (before the link): per class, shap on that class's trees.
    shap's expected_value sums the trees' root values, which gbdt's internal nodes need not hold, so
    the bias is checked by local accuracy here (Σφ + E[f] = f(x)) and φ against shap."""
    shap = pytest.importorskip("shap", reason="shap is not in the peers' venv (tools/install-deps --python)")
    data = dataset(name)
    client.train("g", data, pb.ModelSpec(gbdt=pb.GradientBoostingSpec(iterations=15)), options(1)).wait()
    gbdt = pb.ModelFile.FromString(client.export_model("g").model_file).gbdt
    columns = len(data.feature_names)
    rows = list(range(0, len(data.class_ids), 7))[:120]
    x = np.asarray(data.features.values, dtype=np.float32).reshape(-1, columns)[rows]
    classes = range(1, 2) if gbdt.outputs == 1 else range(gbdt.outputs)
    for target in classes:
        trees = [t for i, t in enumerate(gbdt.trees) if i % gbdt.outputs == (0 if gbdt.outputs == 1 else target)]
        assert all(len(t.weight) == len(t.feature) for t in trees)
        explainer = shap.TreeExplainer({"trees": [_shap_tree(t, columns) for t in trees],
                                        "input_dtype": np.float32, "internal_dtype": np.float64},
                                       feature_perturbation="tree_path_dependent")
        ours = client.explain("g", data, rows=rows, target_class=data.class_names[target])
        assert ours.method == "treeshap" and ours.output == "raw score"
        np.testing.assert_allclose(ours.attributions, np.asarray(explainer.shap_values(x)), atol=1e-6, rtol=0)
        np.testing.assert_allclose(ours.attributions.sum(axis=1) + ours.baseline_values, ours.values, atol=1e-5)
