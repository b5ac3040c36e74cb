#!/usr/bin/env python3
"""Golden frame vectors of proto/testdata/, written and checked independently of the Swift code.

    python3 tools/golden.py check      decode every vector, re-encode it, compare bytes (tools/test)
    python3 tools/golden.py generate   rewrite the vectors (only when the set of vectors changes)

Uses only PyPI's `protobuf` (code generated from proto/ into a temporary directory with protoc)
and the standard library's zlib and struct. The frame layout is PROTOCOL.md §2.
Vector file format: `# ` comment lines (what it holds; `message:` names the payload type, or
`raw` for opaque PING/PONG payloads), then the frame as hex, 32 bytes per line.
Compressed vectors are compared after inflating: compressed bytes depend on zlib's version.
"""
import glob
import importlib
import os
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTDATA = os.path.join(ROOT, "proto", "testdata")
HEADER = struct.Struct(">HBBBBHIII")  # magic, version, kind, flags, reserved, method, call id, timeout ms, length
MAGIC, VERSION = 0x4D57, 1
KINDS = {"HELLO": 1, "REQUEST": 2, "MESSAGE": 3, "ERROR": 4, "CANCEL": 5, "PING": 6, "PONG": 7, "GOAWAY": 8}
END_STREAM, COMPRESSED = 0x01, 0x02


def load_schema():
    out = tempfile.mkdtemp(prefix="modelwire-py-")
    protos = sorted(os.path.relpath(p, os.path.join(ROOT, "proto"))
                    for p in glob.glob(os.path.join(ROOT, "proto", "modelwire", "*", "*.proto")))
    subprocess.run(["protoc", "-I", os.path.join(ROOT, "proto"), f"--python_out={out}", *protos], check=True)
    sys.path.insert(0, out)
    modules = {}
    for p in protos:
        name = p[:-len(".proto")].replace("/", ".") + "_pb2"
        modules[name] = importlib.import_module(name)
    types = {}
    for m in modules.values():
        for name, desc in m.DESCRIPTOR.message_types_by_name.items():
            types[desc.full_name] = getattr(m, name)
    return types


def frame(kind, payload, flags=0, method=0, call_id=0, timeout=0, compress=False):
    if compress:
        payload = zlib.compress(payload, 1)
        flags |= COMPRESSED
    return HEADER.pack(MAGIC, VERSION, KINDS[kind], flags, 0, method, call_id, timeout, len(payload)) + payload


def vectors(t):
    v1 = "modelwire.v1."
    M = lambda type_name, **kw: t[v1 + type_name](**kw)
    limits = M("Limits", max_frame_bytes=16 << 20, max_message_bytes=64 << 20, max_decompression_ratio=200,
               max_concurrent_calls=256, compression_threshold_bytes=1024, idle_timeout_ms=300000,
               max_rows_per_predict=65536, max_dataset_bytes=256 << 20)
    inputs = M("Tensor", columns=4, values=[5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3])
    big = M("Tensor", columns=100, values=[((r * 100 + c) % 17) * 0.25 for r in range(64) for c in range(100)])
    progress = M("TrainProgress", epoch=3, epochs=10, batch=45, batches=45, loss=0.125, accuracy=0.96875,
                 validation_loss=0.25, validation_accuracy=0.9375, samples_per_second=250000.0, eta_seconds=1.5,
                 epoch_end=True)
    result = M("TrainResult", model="digits", version=2, epochs_run=10, seed=42, duration_seconds=2.5,
               metrics=M("Evaluation", rows=288, classification=M("ClassificationMetrics", accuracy=0.96875)))
    table = M("Table", columns=[
        M("TableColumn", name="color", strings=M("StringColumn", values=["red", "", "blue"]), missing=[False, True, False]),
        M("TableColumn", name="size", floats=M("FloatColumn", values=[1.5, float("nan"), 7.25])),
        M("TableColumn", name="zip", ints=M("IntColumn", values=[2134, -1, 94110])),
        M("TableColumn", name="member", bools=M("BoolColumn", values=[True, False, True])),
    ])
    labelled = M("Table", columns=list(table.columns) + [
        M("TableColumn", name="buy", strings=M("StringColumn", values=["yes", "no", "yes"]))])
    return [
        ("client_hello", "client handshake: protocol versions [1], accepts none+zlib, client name",
         "ClientHello", M("ClientHello", protocol_versions=[1], compression=[0, 1], client_name="golden/1"),
         dict(kind="HELLO")),
        ("server_hello", "server handshake: version 1, zlib, the default limits, schema modelwire.v1",
         "ServerHello", M("ServerHello", protocol_version=1, compression=1, limits=limits,
                          server_name="modelwire-server/0.1.0", schema_packages=["modelwire.v1"]),
         dict(kind="HELLO")),
        ("predict_request", "unary REQUEST, call 1, METHOD_PREDICT 0x0101, timeout 250 ms, END_STREAM: 2 rows x 4 features of model iris version 3",
         "PredictRequest", M("PredictRequest", model=M("ModelRef", name="iris", version=3), inputs=inputs,
                             include_probabilities=True),
         dict(kind="REQUEST", method=0x0101, call_id=1, timeout=250, flags=END_STREAM)),
        ("predict_response", "unary response: MESSAGE call 1 END_STREAM (= status ok), 2 rows, probabilities and timings",
         "PredictResponse", M("PredictResponse", model="iris", version=3, class_names=["setosa", "versicolor", "virginica"],
                              class_ids=[0, 2], scores=M("Tensor", columns=3, values=[0.875, 0.125, 0.0, 0.0, 0.25, 0.75]),
                              scores_are_probabilities=True,
                              timings=M("CallTimings", decode_us=2, compute_us=3, encode_us=1, batch_rows=2)),
         dict(kind="MESSAGE", call_id=1, flags=END_STREAM)),
        ("train_request", "server-streaming REQUEST, call 3, METHOD_TRAIN 0x0102, no timeout: dense 64-64 on uploaded dataset digits, Adam, seed 42",
         "TrainRequest", M("TrainRequest", model="digits", dataset="digits-train",
                           spec=M("ModelSpec", dense=M("DenseNetSpec", hidden=[M("DenseLayerSpec", units=64, activation=1),
                                                                               M("DenseLayerSpec", units=64, activation=1)])),
                           options=M("TrainingOptions", optimizer=M("Optimizer", kind=0, learning_rate=0.001), epochs=10,
                                     batch_size=32, validation_split=0.2, seed=42)),
         dict(kind="REQUEST", method=0x0102, call_id=3, flags=END_STREAM)),
        ("train_progress", "streamed response: MESSAGE call 3 without END_STREAM, a TrainEvent with progress of epoch 3",
         "TrainEvent", M("TrainEvent", job_id="job-000001", progress=progress),
         dict(kind="MESSAGE", call_id=3)),
        ("train_result", "last streamed response: MESSAGE call 3 END_STREAM, a TrainEvent with the result (version 2)",
         "TrainEvent", M("TrainEvent", job_id="job-000001", result=result),
         dict(kind="MESSAGE", call_id=3, flags=END_STREAM)),
        ("upload_first_chunk", "client-streaming REQUEST, call 5, METHOD_UPLOAD_DATASET 0x0108, first chunk (more follow)",
         "UploadDatasetRequest", M("UploadDatasetRequest", name="iris-train",
                                   rows=M("Dataset", feature_names=["a", "b", "c", "d"], features=inputs,
                                          class_names=["setosa", "virginica"], class_ids=[0, 1])),
         dict(kind="REQUEST", method=0x0108, call_id=5)),
        ("upload_last_chunk", "client stream: MESSAGE call 5 END_STREAM, the last chunk",
         "UploadDatasetRequest", M("UploadDatasetRequest", name="iris-train",
                                   rows=M("Dataset", features=M("Tensor", columns=4, values=[4.9, 3.0, 1.4, 0.2]),
                                          class_names=["setosa"], class_ids=[0])),
         dict(kind="MESSAGE", call_id=5, flags=END_STREAM)),
        ("predict_request_compressed", "compressed REQUEST, call 7, METHOD_PREDICT, END_STREAM|COMPRESSED: 64 rows x 100 features (compare after inflating)",
         "PredictRequest", M("PredictRequest", model=M("ModelRef", name="synthetic", alias="production"), inputs=big),
         dict(kind="REQUEST", method=0x0101, call_id=7, flags=END_STREAM, compress=True)),
        ("predict_request_table", "unary REQUEST, call 11, METHOD_PREDICT: 3 raw rows as a typed table (text with a gap, float with NaN, int, bool) for a model with preprocessing",
         "PredictRequest", M("PredictRequest", model=M("ModelRef", name="shop"), table=table),
         dict(kind="REQUEST", method=0x0101, call_id=11, flags=END_STREAM)),
        ("train_request_table", "server-streaming REQUEST, call 13, METHOD_TRAIN: a labelled table with one-hot (cap 8), median imputation and missing indicators",
         "TrainRequest", M("TrainRequest", model="shop", table=M("LabelledTable", table=labelled, label_column="buy"),
                           spec=M("ModelSpec", tree=M("DecisionTreeSpec", max_depth=6)),
                           preprocessing=M("PreprocessingSpec", categorical=["zip"], max_categories=8,
                                           numeric_imputation=2, missing_indicators=True)),
         dict(kind="REQUEST", method=0x0102, call_id=13, flags=END_STREAM)),
        ("error_not_found", "call error: ERROR call 1, NOT_FOUND (5)",
         "Status", M("Status", code=5, message='model "iris" has no version 9'),
         dict(kind="ERROR", call_id=1)),
        ("error_overloaded", "call error with a retry hint: ERROR call 9, RESOURCE_EXHAUSTED (8), retry after 50 ms",
         "Status", M("Status", code=8, message="predict queue of iris v3 is full", retry_after_ms=50),
         dict(kind="ERROR", call_id=9)),
        ("error_handshake", "connection error: ERROR call 0, UNIMPLEMENTED (12), the server speaks protocol versions [1]; then close",
         "Status", M("Status", code=12, message="none of the client's protocol versions [7] is supported; server speaks [1]",
                     supported_protocol_versions=[1]),
         dict(kind="ERROR")),
        ("cancel", "CANCEL call 3: the client gives up on the call (empty payload)", None, b"", dict(kind="CANCEL", call_id=3)),
        ("ping", "PING with 8 opaque bytes", None, bytes(range(1, 9)), dict(kind="PING")),
        ("pong", "PONG echoing the PING's 8 bytes", None, bytes(range(1, 9)), dict(kind="PONG")),
        ("goaway", "GOAWAY: draining, calls up to id 7 finish, no new calls", "GoAway",
         M("GoAway", last_call_id=7, reason="shutting down"), dict(kind="GOAWAY")),
    ]


def write_vector(name, what, type_name, payload_bytes, opts):
    raw = frame(payload=payload_bytes, **opts)
    lines = [f"# {what}", f"# message: modelwire.v1.{type_name}" if type_name else "# message: raw"]
    lines += [raw[i:i + 32].hex(" ") for i in range(0, len(raw), 32)]
    with open(os.path.join(TESTDATA, name + ".hex"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def read_vector(path):
    comments, hexes = [], []
    for line in open(path):
        (comments if line.startswith("#") else hexes).append(line.strip())
    message = next(c.split(":", 1)[1].strip() for c in comments if c.startswith("# message:"))
    return message, bytes.fromhex(" ".join(hexes))


def check(types):
    paths = sorted(glob.glob(os.path.join(TESTDATA, "*.hex")))
    if not paths:
        raise SystemExit("no vectors in proto/testdata")
    for path in paths:
        message, raw = read_vector(path)
        magic, version, kind, flags, reserved, method, call_id, timeout, length = HEADER.unpack_from(raw)
        assert (magic, version, reserved) == (MAGIC, VERSION, 0), path
        assert kind in KINDS.values() and length == len(raw) - HEADER.size, path
        payload = raw[HEADER.size:]
        if flags & COMPRESSED:
            payload = zlib.decompress(payload)
        if message != "raw":
            decoded = types[message].FromString(payload)
            again = decoded.SerializeToString(deterministic=True)
            assert again == payload, f"{path}: re-encoding differs"
        print(f"ok {os.path.basename(path)}: {[k for k, v in KINDS.items() if v == kind][0]} {message} {len(raw)} bytes")
    print(f"golden vectors: {len(paths)} decoded and re-encoded by Python protobuf")


def main():
    types = load_schema()
    if sys.argv[1:] == ["generate"]:
        os.makedirs(TESTDATA, exist_ok=True)
        for old in glob.glob(os.path.join(TESTDATA, "*.hex")):
            os.remove(old)
        for name, what, type_name, msg, opts in vectors(types):
            payload = msg.SerializeToString(deterministic=True) if type_name else msg
            write_vector(name, what, type_name, payload, opts)
    elif sys.argv[1:] == ["check"]:
        check(types)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
