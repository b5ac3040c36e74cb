"""Python grpcio peer of tools/bench: Predictor/Predict with Modelwire's own messages, the
reference net in numpy, as the grpcio tutorial writes a server (ThreadPoolExecutor, 10 workers).
Usage: grpc_server.py GENERATED_DIR PORT     (prints "grpc-python listening on 127.0.0.1:PORT")"""
import sys
from concurrent import futures

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import numpy as np  # noqa: E402

import bench_pb2_grpc  # noqa: E402
from modelwire.v1 import predict_pb2  # noqa: E402

from model import CLASS_NAMES, ReferenceNet  # noqa: E402


class Predictor(bench_pb2_grpc.PredictorServicer):
    def __init__(self):
        self.net = ReferenceNet()

    def Predict(self, request, context):
        columns = request.inputs.columns
        values = np.asarray(request.inputs.values, dtype=np.float32)
        if columns != 100 or values.size % columns:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "expected rows x 100 features")
        classes = self.net.predict_classes(values.reshape(-1, columns))
        return predict_pb2.PredictResponse(model=request.model.name, version=1, class_names=CLASS_NAMES,
                                           class_ids=classes.tolist())


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=10))
    bench_pb2_grpc.add_PredictorServicer_to_server(Predictor(), server)
    port = server.add_insecure_port(f"127.0.0.1:{sys.argv[2]}")
    server.start()
    print(f"grpc-python listening on 127.0.0.1:{port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
