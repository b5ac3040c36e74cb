"""Tables in wire form (table.proto): typed, named columns with gaps, from pandas, dicts or rows.

A model trained from a table (Train with a LabelledTable) stores its preprocessing and then takes
raw tables in Predict, Evaluate and Explain (columns matched by name, extra ones ignored).

    modelwire.table(df)                                # a DataFrame
    modelwire.table({"city": ["Oslo", None], "age": [31, 40.5]})
    modelwire.table([{"city": "Oslo", "age": 31}, {"city": None, "age": 40.5}])
    modelwire.labelled_table(df, "churned")

pandas is never imported here: a DataFrame is anything with `.columns` and `.dtypes`, a Series
anything with `.dtype` and `.isna()`.
"""
import math
import numbers

from ._schema import pb
from .data import _np

_KINDS = ("floats", "ints", "strings", "bools")


def _is_missing(value):
    """None, a NaN float, pandas' NA or NaT."""
    if value is None:
        return True
    if isinstance(value, float) or (_np is not None and isinstance(value, _np.floating)):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def _is_bool(value):
    return isinstance(value, bool) or (_np is not None and isinstance(value, _np.bool_))


def _is_int(value):
    return not _is_bool(value) and isinstance(value, numbers.Integral)


def _is_real(value):
    return not _is_bool(value) and isinstance(value, numbers.Real)


def _from_values(values):
    """(kind, values with missing slots filled, missing flags) of plain Python values.

    None/NaN/pd.NA are missing; the others decide the type: all bool -> bools, all int -> ints, all
    int or float -> floats, anything else -> strings (str() of each value).
    """
    missing = [_is_missing(v) for v in values]
    present = [v for v, m in zip(values, missing) if not m]
    if all(_is_bool(v) for v in present) and present:
        return "bools", [bool(v) if not m else False for v, m in zip(values, missing)], missing
    if all(_is_int(v) for v in present) and present:
        return "ints", [int(v) if not m else 0 for v, m in zip(values, missing)], missing
    if all(_is_real(v) for v in present):  # also a column with every value missing (or no rows)
        return "floats", [float(v) if not m else math.nan for v, m in zip(values, missing)], missing
    return "strings", [str(v) if not m else "" for v, m in zip(values, missing)], missing


def _dtype_kind(dtype):
    """'f', 'i', 'b' for numeric numpy/pandas dtypes, 'O' for objects, 's' for text and categories."""
    name = str(dtype).lower()
    if name == "category" or name.startswith("string") or name == "str":
        return "s"
    kind = getattr(dtype, "kind", "O")
    if kind in ("f", "c"):
        return "f"
    if kind in ("i", "u"):
        return "i"
    if kind == "b":
        return "b"
    if kind in ("U", "S"):
        return "s"
    if kind in ("M", "m"):  # datetimes and durations: their text
        return "s"
    return "O"


def _from_series(series):
    """(kind, values, missing) of a pandas Series (or anything with .dtype, .isna() and .tolist())."""
    missing = [bool(m) for m in series.isna().tolist()]
    kind = _dtype_kind(series.dtype)
    values = series.tolist()
    if kind == "f":
        return "floats", [float(v) if not m else math.nan for v, m in zip(values, missing)], missing
    if kind == "i":  # numpy int64, or pandas' nullable Int64 (NA -> missing)
        return "ints", [int(v) if not m else 0 for v, m in zip(values, missing)], missing
    if kind == "b":  # numpy bool, or pandas' nullable boolean
        return "bools", [bool(v) if not m else False for v, m in zip(values, missing)], missing
    if kind == "s":
        return "strings", [str(v) if not m else "" for v, m in zip(values, missing)], missing
    return _from_values(values)  # object: the Python values decide


def _from_array(array):
    """(kind, values, missing) of a 1-D numpy array."""
    if array.ndim != 1:
        raise ValueError(f"a table column must be 1-D, got shape {array.shape}")
    kind = _dtype_kind(array.dtype)
    if kind == "f":
        values = array.astype(_np.float64).tolist()
        return "floats", values, [math.isnan(v) for v in values]
    if kind == "i":
        return "ints", [int(v) for v in array.tolist()], [False] * len(array)
    if kind == "b":
        return "bools", [bool(v) for v in array.tolist()], [False] * len(array)
    if kind == "s":
        return "strings", [str(v) for v in array.tolist()], [False] * len(array)
    return _from_values(array.tolist())


def column(name, values):
    """A `TableColumn` named `name` from a list, a 1-D numpy array or a pandas Series.

    numpy/pandas floats -> floats (NaN stays NaN and is flagged missing), ints -> ints (pandas'
    nullable Int64: NA -> missing), bools -> bools, text and categories -> strings (None/NaN/NA ->
    missing, slot ""); object arrays and lists are typed by their values (see `table`).
    """
    if hasattr(values, "dtype") and hasattr(values, "isna") and hasattr(values, "tolist"):
        kind, slots, missing = _from_series(values)
    elif _np is not None and isinstance(values, _np.ndarray):
        kind, slots, missing = _from_array(values)
    else:
        kind, slots, missing = _from_values(list(values))
    out = pb.TableColumn(name=str(name))
    typed = getattr(out, kind)
    typed.SetInParent()  # the kind stays set with zero rows
    typed.values.extend(slots)
    if any(missing):
        out.missing.extend(missing)
    return out


def _is_dataframe(data):
    return hasattr(data, "columns") and hasattr(data, "dtypes") and not isinstance(data, (pb.Table, pb.LabelledTable))


def is_tabular(data):
    """Whether `data` is what `table` takes: a Table, a DataFrame, a dict of columns or a list of dict rows."""
    if isinstance(data, (pb.Table, pb.LabelledTable)) or _is_dataframe(data) or isinstance(data, dict):
        return True
    return isinstance(data, (list, tuple)) and len(data) > 0 and all(isinstance(row, dict) for row in data)


def table(data):
    """A `Table` from a Table, a pandas DataFrame, a dict of column name -> list/numpy array/Series,
    or a list of dict rows (a key absent from a row is missing there).

    Per column (see `column`): floats, ints, bools or strings, with missing flags where a value is
    None, NaN or pd.NA. Plain lists are typed by their values: all bool -> bools, all int -> ints,
    all int/float -> floats, else strings (str() of each value). Every column must have the same
    number of rows; names must be distinct.
    """
    if isinstance(data, pb.Table):
        return data
    if isinstance(data, pb.LabelledTable):
        return data.table
    if _is_dataframe(data):
        names = [str(name) for name in data.columns]
        if len(set(names)) != len(names):
            raise ValueError("duplicate column names: " + ", ".join(sorted({n for n in names if names.count(n) > 1})))
        names = list(data.columns)
        columns = [column(name, data[name]) for name in names]
    elif isinstance(data, dict):
        columns = [column(name, values) for name, values in data.items()]
    elif isinstance(data, (list, tuple)) and all(isinstance(row, dict) for row in data):
        names = list(dict.fromkeys(key for row in data for key in row))
        columns = [column(name, [row.get(name) for row in data]) for name in names]
    else:
        raise TypeError("a table is a pandas DataFrame, a dict of name -> column or a list of dict rows, "
                        f"not {type(data).__name__}")
    if not columns:
        raise ValueError("a table needs at least one column")
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        duplicates = sorted({name for name in names if names.count(name) > 1})
        raise ValueError("duplicate column names: " + ", ".join(duplicates))
    lengths = {c.name: table_column_rows(c) for c in columns}
    if len(set(lengths.values())) > 1:
        raise ValueError("columns of different lengths: " + ", ".join(f"{n}={k}" for n, k in lengths.items()))
    return pb.Table(columns=columns)


def labelled_table(data, label=None):
    """A `LabelledTable`: `data` as `table` takes it, with `label` naming its label column.

    `data` may also be (table-like, labels): the labels (a list, array or Series) become a column
    named `label`, else the Series' name, else "label". A LabelledTable passes through (its label
    column replaced when `label` is given).
    """
    if isinstance(data, pb.LabelledTable):
        if label is None or label == data.label_column:
            return data
        return pb.LabelledTable(table=data.table, label_column=label)
    if isinstance(data, tuple) and len(data) == 2 and is_tabular(data[0]) and not is_tabular(data[1]):
        features, labels = data
        name = label or getattr(labels, "name", None) or "label"
        t = pb.Table()
        t.CopyFrom(table(features))
        if any(c.name == str(name) for c in t.columns):
            raise ValueError(f"the table already has a column named {name!r}: name the labels with label=")
        t.columns.append(column(name, labels))
        if table_rows(t) != table_column_rows(t.columns[-1]):
            raise ValueError(f"{table_column_rows(t.columns[-1])} labels for {table_column_rows(t.columns[0])} rows")
        return pb.LabelledTable(table=t, label_column=str(name))
    if label is None:
        raise ValueError("a table needs label= naming its label column")
    t = table(data)
    names = [c.name for c in t.columns]
    if str(label) not in names:
        raise ValueError(f"no column named {label!r} in the table (which has {', '.join(names)})")
    return pb.LabelledTable(table=t, label_column=str(label))


def table_column_rows(c):
    kind = c.WhichOneof("values")
    return len(getattr(c, kind).values) if kind else len(c.missing)


def table_rows(t):
    """The number of rows of a Table (or a LabelledTable)."""
    if isinstance(t, pb.LabelledTable):
        t = t.table
    return table_column_rows(t.columns[0]) if t.columns else 0


def slice_table(t, start, stop):
    """Rows [start, stop) of a Table or a LabelledTable (the same columns, kinds and label column)."""
    if isinstance(t, pb.LabelledTable):
        return pb.LabelledTable(table=slice_table(t.table, start, stop), label_column=t.label_column)
    out = pb.Table()
    for c in t.columns:
        part = out.columns.add(name=c.name)
        kind = c.WhichOneof("values")
        if kind:
            typed = getattr(part, kind)
            typed.SetInParent()
            typed.values.extend(getattr(c, kind).values[start:stop])
        flags = c.missing[start:stop]
        if any(flags):
            part.missing.extend(flags)
    return out


def to_records(t):
    """A Table (or LabelledTable) as {name: list} with None where missing (for tests and debugging)."""
    if isinstance(t, pb.LabelledTable):
        t = t.table
    out = {}
    for c in t.columns:
        kind = c.WhichOneof("values")
        values = list(getattr(c, kind).values) if kind else []
        flags = list(c.missing) or [False] * len(values)
        out[c.name] = [None if m else v for v, m in zip(values, flags)]
    return out


_ENCODINGS = {"one_hot": pb.CATEGORICAL_ENCODING_ONE_HOT, "ordinal": pb.CATEGORICAL_ENCODING_ORDINAL}
_UNKNOWN = {"ignore": pb.UNKNOWN_CATEGORIES_IGNORE, "error": pb.UNKNOWN_CATEGORIES_ERROR}
_IMPUTATIONS = {"default": pb.IMPUTATION_DEFAULT, "mean": pb.IMPUTATION_MEAN, "median": pb.IMPUTATION_MEDIAN,
                "most_frequent": pb.IMPUTATION_MOST_FREQUENT, "constant": pb.IMPUTATION_CONSTANT}


def _choice(key, value, choices):
    if isinstance(value, int) and not isinstance(value, bool) and value in choices.values():
        return value
    if value is None:
        return 0
    if value not in choices:
        raise ValueError(f"preprocessing {key} must be one of {', '.join(choices)}, not {value!r}")
    return choices[value]


def _names(key, value):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def preprocessing_spec(spec):
    """A `PreprocessingSpec` from a PreprocessingSpec, None (the defaults) or a dict:

    categorical, numeric, drop: column names (treated as categories / as numbers / left out);
    encoding: "one_hot" (default) or "ordinal"; max_categories: one-hot features per column (0: 20);
    unknown_categories: "ignore" (default) or "error"; numeric_imputation and categorical_imputation:
    "default", "mean", "median", "most_frequent" or "constant" (with numeric_fill / categorical_fill);
    missing_indicators: a 0/1 feature after each column that had gaps in training.
    """
    if spec is None or isinstance(spec, pb.PreprocessingSpec):
        return spec
    if not isinstance(spec, dict):
        raise TypeError(f"preprocessing must be a dict or a PreprocessingSpec, not {type(spec).__name__}")
    known = {"categorical", "numeric", "drop", "encoding", "max_categories", "unknown_categories",
             "numeric_imputation", "numeric_fill", "categorical_imputation", "categorical_fill", "missing_indicators"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"unknown preprocessing key(s) {', '.join(unknown)}: use {', '.join(sorted(known))}")
    return pb.PreprocessingSpec(
        categorical=_names("categorical", spec.get("categorical")),
        numeric=_names("numeric", spec.get("numeric")),
        drop=_names("drop", spec.get("drop")),
        encoding=_choice("encoding", spec.get("encoding"), _ENCODINGS),
        max_categories=int(spec.get("max_categories") or 0),
        unknown_categories=_choice("unknown_categories", spec.get("unknown_categories"), _UNKNOWN),
        numeric_imputation=_choice("numeric_imputation", spec.get("numeric_imputation"), _IMPUTATIONS),
        numeric_fill=float(spec.get("numeric_fill") or 0.0),
        categorical_imputation=_choice("categorical_imputation", spec.get("categorical_imputation"), _IMPUTATIONS),
        categorical_fill=str(spec.get("categorical_fill") or ""),
        missing_indicators=bool(spec.get("missing_indicators", False)),
    )


__all__ = ["column", "table", "labelled_table", "table_rows", "slice_table", "to_records", "preprocessing_spec",
           "is_tabular"]
