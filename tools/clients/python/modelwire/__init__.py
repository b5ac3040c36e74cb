"""Modelwire v1 client for Python, built from proto/ and proto/PROTOCOL.md only.

    from modelwire import Client, read_csv
    with Client("127.0.0.1", 7411) as client:
        iris = read_csv("data/iris.csv")
        result = client.train("iris", iris, "logistic", {"epochs": 20}).wait()
        print(client.predict("iris", [[5.1, 3.5, 1.4, 0.2]]).class_ids)

Raw tables (text categories, gaps): train from a pandas DataFrame (or a dict of columns) with
label=, and the model keeps its preprocessing:

        client.train("churn", df, "logistic", label="churned", preprocessing={"unknown_categories": "error"}).wait()
        client.predict("churn", table=new_rows_df).class_ids
"""
from ._schema import pb
from .client import METHOD, Client, Connection, Explanation, ResponseStream, call_metadata, tls_context
from .data import CSVError, dataset, first_rows, read_csv, rows, tensor
from .tables import column, labelled_table, preprocessing_spec, slice_table, table, table_rows, to_records
from .errors import *  # noqa: F401,F403
from .errors import BY_CODE, ModelwireError, error_for_status

__version__ = "0.1.0"
