"""Every v1 call through the Python client against the real server (mirrors ServiceCallTests.swift)."""
import os
import re

import pytest

import modelwire
from conftest import PROTO, dataset, options, train
from modelwire import first_rows, pb


def test_train_predict_evaluate_and_manage_models(client):
    iris = dataset("iris")
    result, events = train(client, "iris", iris)
    assert result.model == "iris" and result.version == 1
    assert events[0].WhichOneof("event") == "accepted"
    job_id = events[0].job_id
    assert job_id
    assert any(e.WhichOneof("event") == "progress" for e in events)
    assert result.metrics.WhichOneof("kind") == "classification"
    assert result.metrics.classification.accuracy >= 0.9

    # A second training of the same name is a new version.
    second, _ = train(client, "iris", iris, epochs=5)
    assert second.version == 2

    # Predict: latest, exact version, alias.
    rows = first_rows(iris, 3)
    latest = client.predict("iris", rows, include_probabilities=True)
    assert latest.version == 2
    assert len(latest.class_ids) == 3
    assert list(latest.class_names) == list(iris.class_names)
    assert latest.scores.columns == 3 and len(latest.scores.values) == 9
    assert latest.scores_are_probabilities
    for r in range(3):
        assert abs(sum(latest.scores.values[r * 3:r * 3 + 3]) - 1) < 1e-4
    assert client.set_alias("iris", "production", 1) is None
    via_alias = client.predict("iris", rows, alias="production")
    assert via_alias.version == 1
    assert client.set_alias("iris", "production", 2) == 1  # roll forward
    assert client.set_alias("iris", "production", 1) == 2  # and back
    exact = client.predict("iris", rows, version=1)
    assert list(exact.class_ids) == list(via_alias.class_ids)

    # Evaluate, inline.
    evaluation = client.evaluate("iris", iris, version=1)
    metrics = evaluation.evaluation.classification
    assert evaluation.evaluation.WhichOneof("kind") == "classification"
    assert len(metrics.per_class) == 3
    assert sum(metrics.confusion.counts) == 150
    assert metrics.HasField("log_loss")

    # Models: list, describe, export, import, delete.
    models = client.list_models()
    assert [m.name for m in models] == ["iris"]
    assert [v.version for v in models[0].versions] == [1, 2]
    assert [(a.name, a.version) for a in models[0].aliases] == [("production", 1)]
    described = client.describe_model("iris", version=1)
    assert described.input_columns == 4
    assert list(described.aliases) == ["production"]
    exported = client.export_model("iris", version=1)
    model_file = pb.ModelFile.FromString(exported.model_file)
    assert model_file.name == "iris" and model_file.version == 1
    assert len(model_file.class_names) == 3
    imported = client.import_model(exported.model_file, name="iris-copy")
    assert imported.name == "iris-copy" and imported.version == 1
    copy = client.predict("iris-copy", rows)
    assert list(copy.class_ids) == list(via_alias.class_ids)
    assert client.delete_model("iris", version=2) == [2]
    assert [v.version for m in client.list_models() if m.name == "iris" for v in m.versions] == [1]
    assert client.delete_model("iris-copy") == [1]

    # Jobs.
    job = client.get_job(job_id)
    assert job.state == pb.JOB_STATE_SUCCEEDED
    assert job.result.version == 1
    assert len(client.list_jobs()) == 2
    watched = list(client.watch_job(job_id))
    assert watched[-1].WhichOneof("event") == "result"
    assert watched[-1].result.version == 1


def test_numpy_and_plain_lists_give_the_same_answer(client):
    np = pytest.importorskip("numpy")
    iris = dataset("iris")
    train(client, "iris", iris, epochs=3)
    flat = list(iris.features.values[:12])
    as_lists = [flat[i:i + 4] for i in range(0, 12, 4)]
    a = client.predict("iris", as_lists)
    b = client.predict("iris", np.array(as_lists, dtype=np.float64))
    c = client.predict("iris", np.array(as_lists[0], dtype=np.float32))  # 1-D: one row
    assert list(a.class_ids) == list(b.class_ids)
    assert list(c.class_ids) == list(a.class_ids[:1])
    features = np.array(iris.features.values, dtype=np.float32).reshape(-1, 4)
    labels = [iris.class_names[i] for i in iris.class_ids]
    result = client.train("iris-np", (features, labels), "tree", options(1)).wait()
    assert result.version == 1


def test_datasets_upload_train_evaluate_delete(client):
    digits = dataset("digits")
    info = client.upload_dataset("digits-all", digits, chunk_bytes=4096)  # many chunks
    assert info.rows == 1797 and info.columns == 64
    assert set(info.class_names) == set(digits.class_names)
    assert [d.name for d in client.list_datasets()] == ["digits-all"]
    with pytest.raises(modelwire.AlreadyExists):
        client.upload_dataset("digits-all", digits, chunk_bytes=4096)
    spec = pb.ModelSpec(tree=pb.DecisionTreeSpec(max_depth=8))
    result = client.train("digits", "digits-all", spec).wait()
    assert result.version == 1
    evaluation = client.evaluate("digits", "digits-all")
    assert evaluation.evaluation.classification.accuracy > 0.8
    replaced = client.upload_dataset("digits-all", dataset("iris"), replace=True)
    assert replaced.rows == 150 and replaced.columns == 4
    client.delete_dataset("digits-all")
    assert client.list_datasets() == []
    with pytest.raises(modelwire.NotFound):
        client.delete_dataset("digits-all")


def test_health_and_server_info(client):
    health = client.health()
    assert health.live and health.ready and not health.draining
    info = client.info()
    assert list(info.protocol_versions) == [1]
    assert list(info.schema_packages) == ["modelwire.v1"]
    with open(os.path.join(PROTO, "modelwire.desc.pb"), "rb") as fh:
        assert info.file_descriptor_set == fh.read()
    assert info.limits.max_frame_bytes == 16 << 20
    hello = client.server_hello
    assert hello.protocol_version == 1
    assert hello.compression == pb.COMPRESSION_ZLIB
    assert list(hello.schema_packages) == ["modelwire.v1"]


def test_descriptor_set_describes_every_method_and_message(client):
    from google.protobuf import descriptor_pb2
    fds = descriptor_pb2.FileDescriptorSet.FromString(client.info().file_descriptor_set)
    names = {f.name for f in fds.file}
    assert "modelwire/v1/methods.proto" in names and "modelwire/v1/predict.proto" in names
    methods = next(f for f in fds.file if f.name == "modelwire/v1/methods.proto").enum_type[0]
    assert {v.name: v.number for v in methods.value}["METHOD_PREDICT"] == modelwire.METHOD["predict"]
    assert sorted(v.number for v in methods.value if v.number) == sorted(modelwire.METHOD.values())


def test_regression_and_linear_svm(client):
    iris = dataset("iris")
    v = list(iris.features.values)
    # Regression: petal width from the other three features.
    features = [v[i:i + 3] for i in range(0, len(v), 4)]
    targets = [v[i + 3] for i in range(0, len(v), 4)]
    reg = modelwire.dataset(features, targets=targets)
    spec = pb.ModelSpec(task=pb.TASK_REGRESSION, tree=pb.DecisionTreeSpec(max_depth=4, criterion=pb.TREE_CRITERION_MSE))
    result = client.train("petal", reg, spec).wait()
    assert result.metrics.WhichOneof("kind") == "regression"
    answer = client.predict("petal", features[:5])
    assert len(answer.values) == 5 and len(answer.class_ids) == 0
    assert all(abs(p - t) < 0.5 for p, t in zip(answer.values, targets[:5]))
    metrics = client.evaluate("petal", reg).evaluation.regression
    assert metrics.r2 > 0.8 and metrics.mse >= 0
    assert client.describe_model("petal").task == pb.TASK_REGRESSION
    # Linear SVM: decision scores, not probabilities; no log loss.
    svm = client.train("svm", iris, "linear_svm", options(10)).wait()
    assert svm.version == 1
    answer = client.predict("svm", first_rows(iris, 2), include_probabilities=True)
    assert not answer.scores_are_probabilities and answer.scores.columns == 3
    assert not client.evaluate("svm", iris).evaluation.classification.HasField("log_loss")


def test_predict_puts_named_columns_in_the_models_order(client):
    """Issue 11 item 1: named inputs are reordered by DescribeModel's feature_names before sending."""
    iris = dataset("iris")
    train(client, "iris-named", iris)
    names = list(iris.feature_names)
    head = first_rows(iris, 6)
    rows = [list(head.values[i:i + head.columns]) for i in range(0, len(head.values), head.columns)]
    expected = list(client.predict("iris-named", head).class_ids)
    shuffled = [names[i] for i in (2, 0, 3, 1)]
    columns = {name: [row[names.index(name)] for row in rows] for name in shuffled}
    columns["unused"] = [9.0] * len(rows)  # a column the model does not use is left out
    as_dict = client.predict("iris-named", columns)
    assert list(as_dict.class_ids) == expected
    reordered_rows = [[row[names.index(name)] for name in shuffled] for row in rows]
    with_names = client.predict("iris-named", reordered_rows, feature_names=shuffled)
    assert list(with_names.class_ids) == expected
    named_dataset = modelwire.dataset(reordered_rows, [0] * len(rows), feature_names=shuffled)
    assert list(client.predict("iris-named", named_dataset).class_ids) == expected
    # Positional rows keep today's meaning; a missing name and a count mismatch are ValueErrors.
    with pytest.raises(ValueError, match=re.escape(f"needs columns {names[1]}")):
        client.predict("iris-named", {name: columns[name] for name in shuffled if name != names[1]})
    with pytest.raises(ValueError, match="3 feature_names for 4 columns"):
        client.predict("iris-named", reordered_rows, feature_names=shuffled[:3])
