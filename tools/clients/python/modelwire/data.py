"""Tensors and datasets in wire form from numpy arrays, lists or CSV files."""
import csv
import math

from ._schema import pb

try:  # numpy is optional
    import numpy as _np
except ImportError:  # pragma: no cover - exercised where numpy is absent
    _np = None


def _is_ndarray(value):
    return _np is not None and isinstance(value, _np.ndarray)


def tensor(values, columns=None):
    """A `Tensor` from a Tensor, a 2-D numpy array, a list of rows, or a flat list with `columns`.

    A 1-D numpy array or a flat list of numbers without `columns` is one row.
    """
    if isinstance(values, pb.Tensor):
        return values
    if _is_ndarray(values):
        array = _np.asarray(values, dtype=_np.float32)
        if array.ndim == 1:
            array = array.reshape(1, -1) if columns is None else array.reshape(-1, columns)
        if array.ndim != 2:
            raise ValueError(f"expected a 2-D array, got shape {array.shape}")
        return pb.Tensor(columns=array.shape[1], values=array.ravel().tolist())
    values = list(values)
    if values and isinstance(values[0], (list, tuple)) or (values and _is_ndarray(values[0])):
        width = len(values[0])
        flat = []
        for row in values:
            if len(row) != width:
                raise ValueError(f"ragged rows: {len(row)} values after {width}")
            flat.extend(float(v) for v in row)
        return pb.Tensor(columns=columns if columns is not None else width, values=flat)
    flat = [float(v) for v in values]
    return pb.Tensor(columns=columns if columns is not None else len(flat), values=flat)


def rows(t):
    """The number of rows of a Tensor."""
    return len(t.values) // t.columns if t.columns else 0


def _sorted_class_names(labels):
    """Sorted distinct labels: numerically when all are integers (as the Swift CSV reader does)."""
    distinct = set(labels)
    try:
        as_ints = {int(label): label for label in distinct}
        if len(as_ints) == len(distinct) and all(str(i) == s for i, s in as_ints.items()):
            return [as_ints[i] for i in sorted(as_ints)]
    except ValueError:
        pass
    return sorted(distinct)


def dataset(features, labels=None, class_names=None, feature_names=None, targets=None):
    """A labelled `Dataset`.

    Classification: `labels` are class names (strings; class_names then default to their sorted
    distinct values) or integer class ids into `class_names`. Regression: `targets` (floats).
    """
    t = tensor(features)
    d = pb.Dataset(features=t, feature_names=list(feature_names or []))
    if targets is not None:
        d.targets.extend(float(v) for v in (targets.tolist() if _is_ndarray(targets) else targets))
        return d
    labels = labels.tolist() if _is_ndarray(labels) else list(labels or [])
    if labels and isinstance(labels[0], str):
        names = list(class_names) if class_names is not None else _sorted_class_names(labels)
        index = {name: i for i, name in enumerate(names)}
        ids = [index[label] for label in labels]
    else:
        ids = [int(label) for label in labels]
        names = list(class_names) if class_names is not None else [str(i) for i in range(max(ids, default=-1) + 1)]
    d.class_names.extend(names)
    d.class_ids.extend(ids)
    return d


def read_csv(path, label_column=-1, regression=False):
    """A `Dataset` from a CSV file with a header row and the label in `label_column` (data/*.csv)."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        label_index = label_column % len(header)
        features, labels = [], []
        for row in reader:
            if not row:
                continue
            labels.append(row[label_index].strip())
            features.append([float(v) for i, v in enumerate(row) if i != label_index])
    feature_names = [name for i, name in enumerate(header) if i != label_index]
    if regression:
        return dataset(features, targets=[float(v) for v in labels], feature_names=feature_names)
    return dataset(features, labels, feature_names=feature_names)


def first_rows(d, count):
    """The first `count` rows of a Dataset's (or a Tensor's) features, as a Tensor."""
    t = d.features if isinstance(d, pb.Dataset) else d
    return pb.Tensor(columns=t.columns, values=t.values[:count * t.columns])


def slice_dataset(d, start, stop, with_feature_names=True):
    """Rows [start, stop) of a Dataset (class names kept whole)."""
    c = d.features.columns
    part = pb.Dataset(features=pb.Tensor(columns=c, values=d.features.values[start * c:stop * c]))
    if with_feature_names:
        part.feature_names.extend(d.feature_names)
    part.class_names.extend(d.class_names)
    part.class_ids.extend(d.class_ids[start:stop])
    part.targets.extend(d.targets[start:stop])
    return part


def is_finite_tensor(t):
    return all(math.isfinite(v) for v in t.values)
