"""Prune and Distill (issue 14) through the Python client against the real server (mirrors
TransformCallTests.swift): new versions with their record and report; bad requests refused up front."""
import pytest

import modelwire
from modelwire import pb
from conftest import dataset, options


def test_prune_and_distill_make_new_versions_with_reports(client):
    digits = dataset("digits")
    source = client.train("digits", digits, {"dense": {"hidden": [{"units": 32}]}}, options(5)).wait()
    assert source.version == 1

    stream = client.prune("digits", 0.5, structured=True, fine_tune_epochs=2, fine_tune_data=digits,
                          eval_data=digits, to="digits-small")
    pruned = stream.wait()
    assert pruned is not None and pruned.model == "digits-small" and pruned.version == 1
    assert stream.events[0].WhichOneof("event") == "accepted"
    report = pruned.report
    assert report.source.version == 1 and report.result.parameters < report.source.parameters
    assert report.result.evaluation.classification.accuracy > 0.6
    info = client.describe_model("digits-small")
    assert [layer.units for layer in info.spec.dense.hidden] == [16]
    assert info.transform.kind == "prune" and info.transform.source_model == "digits"
    assert info.transform.report.result.file_bytes == info.file_bytes

    student = client.distill("digits", "student", digits, hidden=(8,), temperature=2, alpha=0.7,
                             options=options(3), eval_data=digits).wait()
    assert student.model == "student" and student.version == 1
    assert client.describe_model("student").transform.kind == "distill"
    assert list(client.describe_model("student").class_names) == list(digits.class_names)


def test_a_90_percent_pruned_net_is_stored_sparsely(client):
    digits = dataset("digits")
    client.train("digits", digits, {"dense": {"hidden": [{"units": 32}, {"units": 32}]}}, options(5)).wait()
    pruned = client.prune("digits", 0.9).wait()
    source, result = pruned.report.source, pruned.report.result
    assert result.nonzero_parameters < source.nonzero_parameters / 5
    assert 0 < result.file_bytes * 2 < source.file_bytes
    assert client.describe_model("digits").file_bytes == result.file_bytes
    assert any(n.startswith("layers stored sparsely: 0, 1, 2 of 3;") for n in pruned.report.notes)
    rows = pb.Tensor(columns=64, values=digits.features.values[:3 * 64])
    assert len(client.predict("digits", rows).class_ids) == 3


@pytest.mark.parametrize("kwargs, word", [
    (dict(sparsity=1.5), "sparsity"),
    (dict(sparsity=0.5, fine_tune_epochs=2), "fine_tune_data"),
    (dict(sparsity=0.5, to="../x"), "target_model"),
])
def test_bad_prune_requests_are_refused(client, kwargs, word):
    client.train("net", dataset("iris"), "mlp", options(2)).wait()
    with pytest.raises(modelwire.InvalidArgument, match=word):
        client.prune("net", **kwargs).wait()
    assert len(client.list_jobs()) == 1  # the refused prune never became a job


def test_quantize_makes_a_smaller_int8_version_served_by_predict(client):
    digits = dataset("digits")
    client.train("digits", digits, {"dense": {"hidden": [{"units": 32}, {"units": 32}]}}, options(5)).wait()
    rows = [list(digits.features.values[i * 64:(i + 1) * 64]) for i in range(100)]
    result = client.quantize("digits", to="digits-int8", calibration_data=rows, eval_data=digits).wait()
    assert result.model == "digits-int8" and result.version == 1
    report = result.report
    assert report.result.file_bytes < 0.6 * report.source.file_bytes
    assert abs(report.result.evaluation.classification.accuracy - report.source.evaluation.classification.accuracy) < 0.03
    assert any("activations: " in note for note in report.notes)
    info = client.describe_model("digits-int8")
    assert info.transform.kind == "quantize" and info.transform.report.result.file_bytes == info.file_bytes
    same = sum(a == b for a, b in zip(client.predict("digits", rows).class_ids,
                                      client.predict("digits-int8", rows).class_ids))
    assert same >= 95
    with pytest.raises(modelwire.FailedPrecondition, match="int8"):
        client.export_onnx("digits-int8")


@pytest.mark.parametrize("kwargs, word", [
    (dict(activation_scaling="static"), "calibration_data"),
    (dict(activation_scaling="dynamic", calibration_data=[[0.0] * 4]), "calibration_data"),
    (dict(to="../x"), "target_model"),
])
def test_bad_quantize_requests_are_refused(client, kwargs, word):
    client.train("net", dataset("iris"), "mlp", options(2)).wait()
    with pytest.raises(modelwire.InvalidArgument, match=word):
        client.quantize("net", **kwargs).wait()
    assert len(client.list_jobs()) == 1  # the refused quantize never became a job
