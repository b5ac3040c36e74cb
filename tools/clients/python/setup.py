"""Generates modelwire/v1/*_pb2.py from ../../../proto (or $MODELWIRE_PROTO_DIR) with protoc before building."""
import os
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class GenerateThenBuild(build_py):
    def run(self):
        sys.path.insert(0, os.path.join(HERE, "modelwire"))
        import _schema_gen  # noqa: F401 - the generator, importable without the package
        _schema_gen.generate()
        super().run()


setup(cmdclass={"build_py": GenerateThenBuild})
