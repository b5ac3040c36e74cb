"""Generates modelwire/v1/*_pb2.py from ../../../proto (or $MODELWIRE_PROTO_DIR) with protoc, then builds.

The generation runs whenever setuptools loads this file (metadata, wheel, editable install), so
the `modelwire.v1` package exists before setuptools looks for it. Nothing generated is committed.
"""
import os
import sys

from setuptools import setup

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "modelwire"))
import _schema_gen  # noqa: E402 - the generator alone, importable without the package

_schema_gen.generate()
setup()
