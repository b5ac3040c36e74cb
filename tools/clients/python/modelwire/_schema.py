"""Python code generated from proto/modelwire/v1/*.proto with protoc.

The generated modules live in this package's `v1/` subdirectory (never committed). They are
written at build time by setup.py, or on first import when they are missing (a source checkout).
protoc writes `modelwire/v1/<file>_pb2.py`, whose imports (`from modelwire.v1 import tensor_pb2`)
resolve inside this package.
"""
import importlib
import os
import sys

from ._schema_gen import GENERATED_DIR, PROTO_FILES, generate


def _ensure_generated():
    missing = [n for n in PROTO_FILES if not os.path.exists(os.path.join(GENERATED_DIR, n + "_pb2.py"))]
    if missing:
        generate()
        importlib.invalidate_caches()


_ensure_generated()

from modelwire.v1 import (call_metadata_pb2, datasets_pb2, evaluate_pb2, explain_pb2, handshake_pb2,  # noqa: E402
                          jobs_pb2, methods_pb2, model_file_pb2, models_pb2, predict_pb2, preprocessing_pb2,
                          server_pb2, status_pb2, table_pb2, tensor_pb2, train_pb2, transform_pb2, transform_report_pb2, tune_pb2, tune_report_pb2)

MODULES = (call_metadata_pb2, tensor_pb2, status_pb2, handshake_pb2, methods_pb2, evaluate_pb2, transform_report_pb2,
           tune_report_pb2, table_pb2, preprocessing_pb2, train_pb2, transform_pb2, tune_pb2, predict_pb2, jobs_pb2, datasets_pb2, models_pb2,
           model_file_pb2, server_pb2, explain_pb2)


class _Namespace:
    """Every message and enum of modelwire.v1 by its short name: `pb.PredictRequest`, `pb.STATUS_CODE_OK`."""

    def __init__(self):
        for module in MODULES:
            for name in module.DESCRIPTOR.message_types_by_name:
                setattr(self, name, getattr(module, name))
            for name, enum in module.DESCRIPTOR.enum_types_by_name.items():
                setattr(self, name, getattr(module, name))
                for value in enum.values:
                    setattr(self, value.name, value.number)

    def message_type(self, full_name):
        """The class of a message by full name, e.g. "modelwire.v1.Status"."""
        prefix = "modelwire.v1."
        if not full_name.startswith(prefix):
            raise KeyError(full_name)
        return getattr(self, full_name[len(prefix):])


pb = _Namespace()
sys.modules.setdefault("modelwire.pb", pb)
