"""Quantize's goals (issue 14) through a release modelwire-server: digits (64→64→64→10) and synthetic
(100→64→64→10) nets trained on their training split, then quantized twice, with dynamic activation
scales and with AUTO (static scales from 1,000 calibration rows of the training split, kept only if
they score better on the test split). Each Quantize job's report is the measurement: file bytes,
predict latency at 1 row and throughput at 1024 rows (in process on the server, source and result
alternated over 3 rounds), accuracy on the test split. Parameter bytes are counted from the
exported model files. usage: quantize_bench.py SERVER_BINARY DATA_DIR WORK_DIR [EPOCHS]"""
import json
import os
import subprocess
import sys
import time

import modelwire
from modelwire import pb

server_binary, data_dir, work = sys.argv[1], sys.argv[2], sys.argv[3]
epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 10
repo_data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data")


def subset(d, indices):
    c = d.features.columns
    part = pb.Dataset(feature_names=list(d.feature_names), class_names=list(d.class_names),
                      features=pb.Tensor(columns=c))
    values = d.features.values
    for i in indices:
        part.features.values.extend(values[i * c:(i + 1) * c])
        part.class_ids.append(d.class_ids[i])
    return part


def parameter_bytes(model_file_bytes):
    f = pb.ModelFile()
    f.ParseFromString(model_file_bytes)
    kind = f.WhichOneof("parameters")
    if kind == "dense":
        return sum(4 * (len(l.weights) + len(l.biases)) for l in f.dense.layers)
    if kind == "quantized_dense":
        return sum(len(l.weights) + 4 * (len(l.weight_scales) + len(l.biases)) + 4 * l.HasField("input_scale")
                   for l in f.quantized_dense.layers)
    raise ValueError(kind)


port_file = os.path.join(work, "port")
if os.path.exists(port_file):
    os.remove(port_file)
repository = os.path.join(work, "repository")
subprocess.run(["rm", "-rf", repository], check=True)
server = subprocess.Popen([server_binary, "--port", "0", "--repository", repository, "--port-file", port_file],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        if os.path.exists(port_file) and open(port_file).read().strip():
            break
        time.sleep(0.1)
    host, port = open(port_file).read().strip().rsplit(":", 1)
    rows = []
    with modelwire.Client(host, int(port)) as client:
        for name, directory, hidden in [("digits", repo_data, [64, 64]), ("synthetic", data_dir, [64, 64])]:
            data = modelwire.read_csv(os.path.join(directory, f"{name}.csv"))
            split = json.load(open(os.path.join(directory, f"{name}_split.json")))
            train, test = subset(data, split["train"]), subset(data, split["test"])
            client.upload_dataset(f"{name}-train", train)
            client.upload_dataset(f"{name}-test", test)
            client.upload_dataset(f"{name}-calibration", subset(data, split["train"][:1000]))
            spec = {"dense": {"hidden": [{"units": u} for u in hidden]}}
            client.train(name, f"{name}-train", spec, {"epochs": epochs, "seed": 0}).wait()
            float_bytes = parameter_bytes(client.export_model(name).model_file)
            for mode, kwargs in [("dynamic", dict(activation_scaling="dynamic")),
                                 ("auto", dict(calibration_data=f"{name}-calibration"))]:
                result = client.quantize(name, version=1, to=f"{name}-{mode}", eval_data=f"{name}-test",
                                         **kwargs).wait()
                r = result.report
                int8_bytes = parameter_bytes(client.export_model(f"{name}-{mode}").model_file)
                rows.append(dict(
                    net=f"{name} {data.features.columns}→{'→'.join(map(str, hidden))}→{len(data.class_names)}",
                    mode=mode, chosen=[n for n in r.notes if n.startswith("activations")][0],
                    parameter_bytes=(float_bytes, int8_bytes), file_bytes=(r.source.file_bytes, r.result.file_bytes),
                    accuracy=(r.source.evaluation.classification.accuracy, r.result.evaluation.classification.accuracy),
                    latency_us=(r.source.latency_1_row_us, r.result.latency_1_row_us),
                    rows_per_second=(r.source.rows_per_second_1024, r.result.rows_per_second_1024)))
                print(json.dumps(rows[-1]), flush=True)
finally:
    server.terminate()
    server.wait(timeout=30)

print(f"\nload average {os.getloadavg()[0]:.1f}; {epochs} epochs, Adam 0.001, batch 32, seed 0\n")
print("| net | activations | parameter bytes int8/float (goal ≤ 0.30) | file bytes int8/float (goal ≤ 0.35) "
      "| accuracy float → int8 (goal ≥ −0.5 pt) | 1024 rows/s float → int8 (goal ≥ 1.5×) "
      "| 1-row µs float → int8 (goal: no worse) |")
print("|---|---|---|---|---|---|---|")
for row in rows:
    (pf, pq), (ff, fq), (af, aq), (lf, lq), (tf, tq) = (row["parameter_bytes"], row["file_bytes"], row["accuracy"],
                                                        row["latency_us"], row["rows_per_second"])
    print(f"| {row['net']} | {row['mode']} | {pq:,}/{pf:,} = {pq / pf:.3f} | {fq:,}/{ff:,} = {fq / ff:.3f} "
          f"| {af:.4f} → {aq:.4f} ({100 * (aq - af):+.2f} pt) | {tf:,.0f} → {tq:,.0f} ({tq / tf:.2f}×) "
          f"| {lf:.2f} → {lq:.2f} ({lq / lf:.2f}×) |")
for row in rows:
    print(f"- {row['net']}, {row['mode']}: {row['chosen']}")
