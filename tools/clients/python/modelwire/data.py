"""Tensors and datasets in wire form from numpy arrays, lists or CSV files."""
import csv
import io
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


class CSVError(ValueError):
    """A CSV file that `read_csv` cannot read: `line` and `column` (1-based) point at the problem, when there is one."""

    def __init__(self, message, line=None, column=None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


DELIMITERS = (",", ";", "\t")  # what detection chooses among, in the order that breaks ties


def detect_delimiter(text):
    """The most frequent of `,` `;` and tab outside quotes on the first non-blank line (ties in that order; none: `,`).

    The same rule as the Swift reader (ModelwireData's CSVFormat).
    """
    tally = dict.fromkeys(DELIMITERS, 0)
    quoted = saw_text = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            saw_text = True
        elif not quoted and ch == "\n":
            if saw_text or any(tally.values()):
                break
        elif not quoted and ch in tally:
            tally[ch] += 1
        elif ch not in " \r":
            saw_text = True
    best = max(tally.values())
    return next(d for d in DELIMITERS if tally[d] == best) if best else ","


def _is_number(text):
    if not text or "_" in text:
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def _rows(text, delimiter):
    """(line, fields) of every non-blank row; `line` is the 1-based line the row starts on. Fields are trimmed."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True, strict=True)
    line = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise CSVError(f"line {reader.line_num}: {error}", line=reader.line_num) from None
        start, line = line, reader.line_num + 1
        fields = [field.strip(" \t\r") for field in row]
        if not fields or fields == [""]:
            continue
        yield start, fields


def _table(text, delimiter=None, has_header=True):
    """The header's names (or f1..fn) and an iterator over (line, fields) data rows, with the Swift reader's rules."""
    if text.startswith("\ufeff"):
        text = text[1:]
    delimiter = delimiter or detect_delimiter(text)
    rows = _rows(text, delimiter)
    first = next(rows, None)
    if first is None:
        raise CSVError("the file is empty: expected a header row" if has_header else "the file is empty")
    line, fields = first
    if not has_header:
        def data():
            yield first
            yield from rows
        return [f"f{i + 1}" for i in range(len(fields))], delimiter, data()
    if all(_is_number(f) for f in fields):
        shown = ", ".join(fields[:4]) + (", ..." if len(fields) > 4 else "")
        raise CSVError(f"line {line}: every field of the header row is a number ({shown}): the file seems to have "
                       "no header; add a header row, or read it with has_header=False", line=line)
    seen = {}
    for column, name in enumerate(fields):
        if name in seen:
            raise CSVError(f"line {line}: the header names '{name}' twice (columns {seen[name] + 1} and {column + 1})",
                           line=line, column=column + 1)
        seen[name] = column
    return fields, delimiter, rows


def read_csv(path, label_column=-1, regression=False, delimiter=None, has_header=True):
    """A `Dataset` from a CSV file (data/*.csv), read with the Swift reader's rules (RFC 4180).

    The label is `label_column`: an index (default the last column) or a header name. Fields may
    be quoted (`""` is a quote; delimiters and line breaks allowed inside); a UTF-8 BOM, CRLF, blank
    lines and spaces around fields are accepted. The delimiter is `delimiter`, else detected from
    the first line among `,` `;` and tab. Header names are trimmed and must be distinct; a header
    of numbers only is refused (the file seems to have no header): pass `has_header=False`, and
    the columns are named f1, f2, ... Raises `CSVError` (a ValueError) naming the line and column.
    """
    with open(path, "rb") as fh:
        text = fh.read().decode("utf-8")
    names, delimiter, rows = _table(text, delimiter, has_header)
    if len(names) < 2:
        raise CSVError(f"line 1: the header needs at least one feature and a label (delimiter {delimiter!r})", line=1)
    if isinstance(label_column, str):
        if label_column not in names:
            raise CSVError(f"no column named '{label_column}' in the header ({', '.join(names)})")
        label_index = names.index(label_column)
    else:
        label_index = label_column % len(names)
    features, labels = [], []
    for line, row in rows:
        if len(row) != len(names):
            column = len(row) + 1 if len(row) < len(names) else len(names) + 1
            what = "the header has" if has_header else "the first row has"
            raise CSVError(f"line {line}, column {column}: {len(row)} fields, {what} {len(names)}", line=line, column=column)
        labels.append(row[label_index])
        values = []
        for i, v in enumerate(row):
            if i == label_index:
                continue
            if not _is_number(v):
                raise CSVError(f"line {line}, column {i + 1} ('{names[i]}'): '{v}' is not a number", line=line, column=i + 1)
            values.append(float(v))
        features.append(values)
    if not labels:
        raise CSVError("the file has a header and no data rows")
    feature_names = [name for i, name in enumerate(names) if i != label_index]
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
