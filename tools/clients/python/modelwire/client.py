"""The Modelwire v1 client: one TCP connection, many concurrent calls (PROTOCOL.md §1-§12).

A reader thread reads every frame and dispatches it by call id to the call's queue; callers
block on their own queue. Writes are serialised by a lock, whole frames at a time.
"""
import contextlib
import itertools
import math
import os
import queue
import socket
import ssl
import threading
import time

from . import frames as F
from ._schema import pb
from .data import _np
from .data import dataset as _make_dataset
from .data import rows as _rows
from .data import slice_dataset, tensor
from .tables import is_tabular as _is_tabular
from .tables import labelled_table as _labelled_table
from .tables import preprocessing_spec as _preprocessing_spec
from .tables import slice_table as _slice_table
from .tables import table as _table
from .tables import table_rows as _table_rows
from .errors import (DeadlineExceeded, FailedPrecondition, ModelwireError, ResourceExhausted, Unavailable,
                     error_for_status)

CLIENT_NAME = "modelwire-python/0.1"
_CALL_METADATA = threading.local()  # what `call_metadata()` puts in this thread's requests


@contextlib.contextmanager
def call_metadata(traceparent=None, tracestate=None):
    """Every request this thread sends inside the block carries this `CallMetadata` (PROTOCOL.md
    §4.1): e.g. `with modelwire.call_metadata(traceparent=span_traceparent): client.predict(...)`;
    the server logs the W3C trace id with the call."""
    previous = getattr(_CALL_METADATA, "value", None)
    _CALL_METADATA.value = pb.CallMetadata(traceparent=traceparent or "", tracestate=tracestate or "")
    try:
        yield
    finally:
        _CALL_METADATA.value = previous


def _with_call_metadata(message):
    """`message`, or a copy carrying the thread's `call_metadata()` when one is set."""
    metadata = getattr(_CALL_METADATA, "value", None)
    if metadata is None or "metadata" not in message.DESCRIPTOR.fields_by_name:
        return message
    stamped = type(message)()
    stamped.CopyFrom(message)
    stamped.metadata.CopyFrom(metadata)
    return stamped


DEFAULT_LIMITS = dict(max_frame_bytes=16 << 20, max_message_bytes=64 << 20, max_decompression_ratio=200,
                      max_concurrent_calls=256, compression_threshold_bytes=1024, ratio_check_min_bytes=1 << 20)

M = pb  # shorthand
# Train, UploadDataset, ImportModel, the transforms, Tune (§5)
NOT_IDEMPOTENT = {0x0102, 0x0108, 0x0110, 0x0130, 0x0131, 0x0132, 0x0140}
METHOD = dict(predict=0x0101, train=0x0102, evaluate=0x0103, get_job=0x0104, list_jobs=0x0105, watch_job=0x0106,
              cancel_job=0x0107, upload_dataset=0x0108, list_datasets=0x0109, delete_dataset=0x010A,
              list_models=0x010B, describe_model=0x010C, delete_model=0x010D, set_alias=0x010E,
              export_model=0x010F, import_model=0x0110, health=0x0111, server_info=0x0112, quantize=0x0130, prune=0x0131,
              distill=0x0132, tune=0x0140, explain=0x0141)


class _Call:
    """One open call: the reader thread puts ("msg", payload, end) or ("err", exception) into `events`."""

    def __init__(self, connection, call_id, method, deadline):
        self.connection = connection
        self.call_id = call_id
        self.method = method
        self.deadline = deadline  # time.monotonic() value or None
        self.events = queue.Queue()
        self.peeked = None  # a response taken out of `events` by failed(), handed out by next()
        self.finished = False

    def next(self):
        """The next response payload as (payload, end_stream); raises the call's error."""
        if self.finished:
            raise RuntimeError("call already finished")
        while True:
            remaining = None if self.deadline is None else self.deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                self.cancel()
                raise DeadlineExceeded(f"deadline passed before the server answered (call {self.call_id}, client side)")
            if self.peeked is not None:
                event, self.peeked = self.peeked, None
            else:
                try:
                    event = self.events.get(timeout=remaining)
                except queue.Empty:
                    continue
            if event[0] == "err":
                self._finish()
                raise event[1]
            _, payload, end = event
            if end:
                self._finish()
            return payload, end

    def failed(self):
        """The error already received for this call, if any (without blocking)."""
        if self.peeked is not None:
            return None
        try:
            event = self.events.get_nowait()
        except queue.Empty:
            return None
        if event[0] == "err":
            self._finish()
            return event[1]
        self.peeked = event  # a response before the end of our stream: keep it for next()
        return None

    def cancel(self):
        """Sends CANCEL and forgets the call (PROTOCOL.md §7)."""
        if not self.finished:
            self._finish()
            self.connection.send_frame(F.CANCEL, b"", call_id=self.call_id, ignore_errors=True)

    def _finish(self):
        if not self.finished:
            self.finished = True
            self.connection.forget(self.call_id)


def tls_context(ca=None, cert=None, key=None):
    """An `ssl.SSLContext` for a server started with --tls-cert: its certificate must be signed by
    the CA certificates in the PEM file `ca` (default: the system's) and name the host connected
    to; `cert` and `key` (PEM files) are this client's certificate, for a server with --tls-client-ca."""
    context = ssl.create_default_context(cafile=ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert or key:
        if not (cert and key):
            raise ValueError("a client certificate needs its key: give cert and key, or neither")
        context.load_cert_chain(cert, key)
    return context


def _tls_failure(error, address):
    """An `ssl.SSLError` met in the TLS handshake, as the error a user can act on."""
    text = str(error)
    if isinstance(error, ssl.SSLCertVerificationError):
        return FailedPrecondition(f"the TLS certificate of {address} cannot be trusted: {error.verify_message} "
                                  "(give its CA with tls_context(ca=...))")
    if "WRONG_VERSION_NUMBER" in text or "RECORD_LAYER_FAILURE" in text or "PACKET_LENGTH_TOO_LONG" in text:
        return FailedPrecondition(f"{address} did not answer in TLS: it serves plaintext on this port "
                                  f"(connect without tls): {text}")
    if "CERTIFICATE_REQUIRED" in text or "HANDSHAKE_FAILURE" in text:
        return FailedPrecondition(f"{address} requires a client certificate (mutual TLS: "
                                  f"tls_context(cert=..., key=...)): {text}")
    return Unavailable(f"TLS with {address} failed: {text}")


class Connection:
    """One handshaken TCP (or TLS) connection with its reader thread."""

    def __init__(self, host, port, connect_timeout=10.0, accept_zlib=True, client_name=CLIENT_NAME,
                 bearer_token=None, protocol_versions=(1,), max_message_bytes=64 << 20, max_frame_bytes=64 << 20,
                 keepalive=None, tls=None, server_name=None):
        self.last_activity = time.monotonic()
        try:
            self.sock = socket.create_connection((host, port), timeout=connect_timeout)
        except OSError as error:
            raise Unavailable(f"cannot connect to {host}:{port}: {error}") from None
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            context = tls_context() if tls is True else tls
            try:
                self.sock = context.wrap_socket(self.sock, server_hostname=server_name or host)
            except ssl.SSLError as error:
                self.sock.close()
                raise _tls_failure(error, f"{host}:{port}") from None
            except OSError as error:
                self.sock.close()
                raise Unavailable(f"TLS with {host}:{port} failed: {error}") from None
        self.write_lock = threading.Lock()
        self.lock = threading.Lock()
        self.calls = {}
        self.call_ids = itertools.count(1)
        self.closed = None  # the exception that closed the connection
        self.goaway = None
        self.pongs = {}
        self.own_max_message = max_message_bytes
        self.own_max_frame = max_frame_bytes
        hello = M.ClientHello(protocol_versions=list(protocol_versions), client_name=client_name,
                              compression=[M.COMPRESSION_NONE] + ([M.COMPRESSION_ZLIB] if accept_zlib else []))
        if bearer_token:
            hello.credentials.bearer_token = bearer_token
        try:
            self.sock.sendall(F.encode_frame(F.HELLO, hello.SerializeToString(deterministic=True)))
            header, payload = self._read_frame()
            if header.kind == F.ERROR:
                raise error_for_status(M.Status.FromString(payload))
            if header.kind != F.HELLO or header.call_id != 0:
                raise Unavailable(f"expected the server's HELLO, got {F.KIND_NAMES[header.kind]}")
            self.server_hello = M.ServerHello.FromString(payload)
        except (OSError, F.FramingError, EOFError) as error:
            self.sock.close()
            raise Unavailable(f"handshake with {host}:{port} failed: {error}") from None
        except BaseException:
            self.sock.close()
            raise
        limits = self.server_hello.limits
        self.limits = {k: getattr(limits, k) or v for k, v in DEFAULT_LIMITS.items()}
        self.slots = threading.BoundedSemaphore(self.limits["max_concurrent_calls"])
        self.sock.settimeout(None)
        self.reader = threading.Thread(target=self._read_loop, name=f"modelwire-reader-{host}:{port}", daemon=True)
        self.reader.start()
        if keepalive:
            threading.Thread(target=self._keepalive_loop, args=(keepalive,), name="modelwire-keepalive",
                             daemon=True).start()

    def _keepalive_loop(self, interval):
        """PINGs after `interval` seconds without frames (PROTOCOL.md §11); no PONG: the connection is dead."""
        while self.closed is None:
            idle = time.monotonic() - self.last_activity
            if idle < interval:
                time.sleep(interval - idle)
                continue
            try:
                self.ping(timeout=max(interval, 5.0))
            except ModelwireError:
                self._fail(Unavailable("no PONG: the connection is dead"))
                return

    # -- reading ---------------------------------------------------------------------------------------------------
    def _read_exact(self, count):
        chunks, got = [], 0
        while got < count:
            chunk = self.sock.recv(min(count - got, 1 << 20))
            if not chunk:
                raise EOFError("the server closed the connection")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _read_frame(self):
        header = F.decode_header(self._read_exact(F.HEADER_SIZE))
        if header.length > self.own_max_frame:
            raise F.FramingError(f"frame of {header.length} bytes exceeds {self.own_max_frame}")
        payload = self._read_exact(header.length) if header.length else b""
        self.last_activity = time.monotonic()
        return header, payload

    def _read_loop(self):
        try:
            while True:
                header, payload = self._read_frame()
                self._dispatch(header, payload)
        except ModelwireError as error:  # ERROR on call 0
            self._fail(error)
        except (OSError, EOFError, F.FramingError) as error:
            self._fail(Unavailable(f"connection lost: {error}"))
        except Exception as error:  # noqa: BLE001 - a decoding bug must not hang callers
            self._fail(Unavailable(f"connection failed: {error!r}"))

    def _dispatch(self, header, payload):
        kind = header.kind
        if kind in (F.MESSAGE, F.ERROR) and header.call_id != 0:
            with self.lock:
                call = self.calls.get(header.call_id)
            if call is None:
                return  # a frame for a call we no longer track (cancelled, timed out): ignore (§7)
            if header.compressed:
                try:
                    payload = F.inflate(payload, min(self.own_max_message, self.limits["max_message_bytes"]),
                                        self.limits["max_decompression_ratio"], self.limits["ratio_check_min_bytes"])
                except ModelwireError as error:
                    call.events.put(("err", error))
                    self.send_frame(F.CANCEL, b"", call_id=header.call_id, ignore_errors=True)
                    return
            if kind == F.MESSAGE:
                call.events.put(("msg", payload, header.end_stream))
            else:
                call.events.put(("err", error_for_status(M.Status.FromString(payload))))
            return
        if kind == F.ERROR:  # call 0: the connection is closing
            if header.compressed:
                payload = F.inflate(payload, self.own_max_message)
            raise error_for_status(M.Status.FromString(payload))
        if kind == F.PING:
            self.send_frame(F.PONG, payload, ignore_errors=True)
        elif kind == F.PONG:
            with self.lock:
                waiter = self.pongs.pop(payload, None)
            if waiter:
                waiter.set()
        elif kind == F.GOAWAY:
            if header.compressed:
                payload = F.inflate(payload, self.own_max_message)
            self.goaway = M.GoAway.FromString(payload)
        else:
            raise F.FramingError(f"unexpected {F.KIND_NAMES[kind]} frame from the server on call {header.call_id}")

    def _fail(self, error):
        with self.lock:
            if self.closed is None:
                self.closed = error
            calls, self.calls = list(self.calls.values()), {}
            pongs, self.pongs = list(self.pongs.values()), {}
        for call in calls:
            call.events.put(("err", error if error.code == 14 else Unavailable(str(error.message))))
        for waiter in pongs:
            waiter.set()
        try:
            self.sock.close()
        except OSError:
            pass

    # -- writing ---------------------------------------------------------------------------------------------------
    def send_frame(self, kind, payload, flags=0, method=0, call_id=0, timeout_ms=0, ignore_errors=False):
        data = F.encode_frame(kind, payload, flags, method, call_id, timeout_ms)
        try:
            with self.write_lock:
                self.sock.sendall(data)
                self.last_activity = time.monotonic()
        except OSError as error:
            if not ignore_errors:
                raise Unavailable(f"connection lost while sending: {error}") from None

    def encode(self, message, compress=None):
        """Serialises a request message and compresses it per §8 (compress=True forces, False never)."""
        payload = _with_call_metadata(message).SerializeToString(deterministic=True)
        if len(payload) > self.limits["max_message_bytes"]:
            raise ResourceExhausted(f"request of {len(payload)} bytes exceeds max_message_bytes "
                                    f"{self.limits['max_message_bytes']}")
        flags = 0
        if compress is not False:
            payload, packed = F.compress(payload, self.limits["compression_threshold_bytes"], force=bool(compress),
                                         max_ratio=self.limits["max_decompression_ratio"],
                                         ratio_check_min_bytes=self.limits["ratio_check_min_bytes"])
            flags = F.COMPRESSED if packed else 0
        if len(payload) > self.limits["max_frame_bytes"]:
            raise ResourceExhausted(f"request frame of {len(payload)} bytes exceeds max_frame_bytes "
                                    f"{self.limits['max_frame_bytes']}")
        return payload, flags

    @property
    def usable(self):
        return self.closed is None and self.goaway is None

    def open_call(self, method, message, timeout=None, end_stream=True, compress=None):
        """Sends the REQUEST frame of a new call; returns the _Call."""
        if self.closed is not None:
            raise Unavailable(f"connection closed: {self.closed.message}")
        if self.goaway is not None:
            raise Unavailable(f"the server is draining: {self.goaway.reason}", retry_after_ms=0)
        payload, flags = self.encode(message, compress)
        deadline = None if timeout is None else time.monotonic() + timeout
        timeout_ms = 0 if timeout is None else max(1, math.ceil(timeout * 1000))
        if not self.slots.acquire(timeout=timeout):
            raise DeadlineExceeded("no call slot free before the deadline (max_concurrent_calls)")
        with self.lock:
            if self.closed is not None:
                self.slots.release()
                raise Unavailable(f"connection closed: {self.closed.message}")
            call_id = next(self.call_ids)
            call = _Call(self, call_id, method, deadline)
            self.calls[call_id] = call
        flags |= F.END_STREAM if end_stream else 0
        try:
            self.send_frame(F.REQUEST, payload, flags, method, call_id, timeout_ms)
        except ModelwireError:
            call._finish()
            raise
        return call

    def forget(self, call_id):
        with self.lock:
            if self.calls.pop(call_id, None) is None:
                return
        self.slots.release()

    def ping(self, timeout=5.0):
        payload = os.urandom(8)
        waiter = threading.Event()
        with self.lock:
            self.pongs[payload] = waiter
        started = time.monotonic()
        self.send_frame(F.PING, payload)
        if not waiter.wait(timeout) or self.closed is not None:
            with self.lock:
                self.pongs.pop(payload, None)
            raise Unavailable("no PONG from the server")
        return time.monotonic() - started

    def close(self):
        with self.lock:
            if self.closed is None:
                self.closed = Unavailable("connection closed by the client")
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.reader.join(timeout=5)
        try:
            self.sock.close()
        except OSError:
            pass


class ResponseStream:
    """The responses of a server-streaming call (Train, WatchJob): an iterator of TrainEvent.

    Leaving it early (close(), or a `with` block) sends CANCEL: for Train that only detaches from
    the job (PROTOCOL.md §5, §7).
    """

    def __init__(self, call, message_type):
        self._call = call
        self._type = message_type
        self.done = False
        self.job_id = ""
        self.result = None
        self.events = []

    def __iter__(self):
        return self

    def __next__(self):
        if self.done:
            raise StopIteration
        try:
            payload, end = self._call.next()
        except BaseException:
            self.done = True
            raise
        event = self._type.FromString(payload)
        self.done = end
        if event.job_id:
            self.job_id = event.job_id
        if event.WhichOneof("event") == "result":
            self.result = event.result
        self.events.append(event)
        return event

    def wait(self):
        """Reads to the end; returns the TrainResult (None if the stream ended without one)."""
        for _ in self:
            pass
        return self.result

    def close(self):
        """Stops reading: sends CANCEL when the stream has not ended."""
        if not self.done:
            self.done = True
            self._call.cancel()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


def _grid_value(value):
    """A grid value as the server reads it: text as is, a list of layer sizes as "64,64", numbers by repr."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return ",".join(str(int(v)) for v in value) if value else "none"
    if value is None:
        return "none"
    return repr(value) if isinstance(value, float) else str(value)


def _model_ref(name, version=None, alias=None):
    if isinstance(name, pb.ModelRef):
        return name
    ref = pb.ModelRef(name=name)
    if version is not None and alias is not None:
        raise ValueError("give a version or an alias, not both")
    if version is not None:
        ref.version = version
    elif alias is not None:
        ref.alias = alias
    return ref


class Explanation:
    """An ExplainResponse as arrays (numpy when it is installed, else lists), one entry per explained row.

    `attributions` is rows × features (columns in `feature_names` order); `values` f(x),
    `baseline_values` f(baseline) (TreeSHAP: E[f]), `completeness_errors` |Σ attributions − (f(x) − f(baseline))|;
    `rows` the row indices, `classes` the explained class names, `steps` the integrated-gradient steps
    each row took (0 for the exact methods); `method` "ig", "linear" or "treeshap",
    `output` what f is ("probability", "logit", ...); `response` the message itself. For a model
    trained from a table, `feature_names` are its raw table columns (each attribution sums the
    column's encoded features) and `encoded_feature_names` its encoded features (the baseline's
    order); else `encoded_feature_names` is empty.
    """

    def __init__(self, response):
        array = _np.asarray if _np is not None else list
        self.response = response
        self.method = {1: "ig", 2: "linear", 3: "treeshap"}.get(response.method, str(response.method))
        self.output = response.output
        self.feature_names = list(response.feature_names)
        self.encoded_feature_names = list(response.encoded_feature_names)
        self.baseline = array(list(response.baseline))
        rows = response.explanations
        self.rows = [e.row for e in rows]
        self.classes = [e.explained_class for e in rows]
        self.attributions = array([list(e.attributions) for e in rows])
        self.values = array([e.value for e in rows])
        self.baseline_values = array([e.baseline_value for e in rows])
        self.completeness_errors = array([e.completeness_error for e in rows])
        self.steps = [e.steps for e in rows]


def _named_columns(inputs, feature_names):
    """(Tensor, names or None): the rows of `inputs`, and the column names it or `feature_names` carries."""
    if isinstance(inputs, pb.Dataset):
        names = list(feature_names or inputs.feature_names) or None
        return inputs.features, names
    if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(row, dict) for row in inputs):  # dict rows
        names = list(dict.fromkeys(key for row in inputs for key in row))
        inputs = {name: [row.get(name, math.nan) for row in inputs] for name in names}
    if isinstance(inputs, dict):
        names = list(inputs)
        columns = [list(inputs[name]) for name in names]
        if len({len(column) for column in columns}) > 1:
            lengths = ", ".join(f"{name}={len(column)}" for name, column in zip(names, columns))
            raise ValueError("columns of different lengths: " + lengths)
        return tensor([list(row) for row in zip(*columns)], columns=len(names)), names
    if feature_names is None and hasattr(inputs, "columns") and hasattr(inputs, "to_numpy"):  # a pandas DataFrame
        return tensor(inputs.to_numpy(dtype="float32")), [str(name) for name in inputs.columns]
    values = tensor(inputs)
    if feature_names is not None and len(feature_names) != values.columns:
        raise ValueError(f"{len(feature_names)} feature_names for {values.columns} columns")
    return values, (list(feature_names) if feature_names is not None else None)


def _in_model_order(values, names, wanted):
    """`values` (columns named `names`) with the columns the model wants (`wanted`), in its order."""
    if not wanted:  # the model was trained without names: columns are positional
        return values
    if len(set(names)) != len(names):
        duplicates = sorted({name for name in names if names.count(name) > 1})
        raise ValueError("duplicate column names: " + ", ".join(duplicates))
    index = {name: i for i, name in enumerate(names)}
    missing = [name for name in wanted if name not in index]
    if missing:
        raise ValueError(f"the model needs columns {', '.join(missing)}, not in the input (which has "
                         f"{', '.join(names)})")
    order = [index[name] for name in wanted]
    if order == list(range(len(names))):
        return values
    width, flat = values.columns, values.values
    out = [flat[row + column] for row in range(0, len(flat), width) for column in order]
    return pb.Tensor(columns=len(order), values=out)


def _mlp():
    """The CLI's mlp: two hidden layers of 64 relu units."""
    layer = pb.DenseLayerSpec(units=64, activation=pb.ACTIVATION_RELU)
    return pb.ModelSpec(dense=pb.DenseNetSpec(hidden=[layer, layer]))


# The CLI's family names and defaults (`modelwire train --family`); "dense" and "linear_svm" are
# the schema's names for mlp and svm.
_FAMILIES = {"mlp": _mlp, "dense": _mlp,
             "logistic": lambda: pb.ModelSpec(logistic=pb.LogisticRegressionSpec()),
             "svm": lambda: pb.ModelSpec(linear_svm=pb.LinearSvmSpec()),
             "linear_svm": lambda: pb.ModelSpec(linear_svm=pb.LinearSvmSpec()),
             "tree": lambda: pb.ModelSpec(tree=pb.DecisionTreeSpec()),
             "forest": lambda: pb.ModelSpec(forest=pb.ForestSpec()),
             "gbdt": lambda: pb.ModelSpec(gbdt=pb.GradientBoostingSpec())}


def _spec(spec):
    if spec is None or isinstance(spec, pb.ModelSpec):
        return spec
    if isinstance(spec, str):
        if spec not in _FAMILIES:
            raise ValueError(f"unknown model family {spec!r}: use one of {', '.join(sorted(_FAMILIES))}")
        return _FAMILIES[spec]()
    from google.protobuf import json_format
    return json_format.ParseDict(spec, pb.ModelSpec())


def _options(options):
    if options is None or isinstance(options, pb.TrainingOptions):
        return options
    from google.protobuf import json_format
    return json_format.ParseDict(options, pb.TrainingOptions())


def _data(data):
    """A Dataset message or a dataset name (str) for the `data` oneof; tuples are (features, labels)."""
    if isinstance(data, (str, pb.Dataset)):
        return data
    if isinstance(data, tuple):
        return _make_dataset(*data)
    raise TypeError("data must be a Dataset, a dataset name, (features, labels) or a table (a pandas DataFrame, "
                    "a dict of columns or a list of dict rows, with label=)")


def _labelled_data(data, label=None):
    """A Dataset, a dataset name, or a LabelledTable for the `data` oneofs of Train and Evaluate.

    A table (a LabelledTable, a pandas DataFrame, a dict of columns, a list of dict rows) needs
    `label` naming its label column; (table, labels) adds the labels as a column.
    """
    if isinstance(data, (str, pb.Dataset)):
        if label is not None:
            raise ValueError("label= is for a table (an uploaded dataset keeps the label column it was uploaded with)")
        return data
    if isinstance(data, pb.LabelledTable) or _is_tabular(data):
        return _labelled_table(data, label)
    if isinstance(data, tuple) and len(data) == 2 and _is_tabular(data[0]):
        return _labelled_table(data, label)
    return _data(data)


def _set_data(request, data):
    """Sets the `data` oneof of a Train, Tune or Evaluate request: dataset, inline_data or table."""
    if isinstance(data, str):
        request.dataset = data
    elif isinstance(data, pb.LabelledTable):
        request.table.CopyFrom(data)
    else:
        request.inline_data.CopyFrom(data)


def _transform_data(data, label=None):
    """A TransformData (rows, an uploaded dataset's name, or a table) from what `_labelled_data` takes; a
    table without `label` (calibration rows) goes without a label column; None stays None."""
    if data is None:
        return None
    if label is None and not isinstance(data, (pb.LabelledTable, tuple)) and _is_tabular(data):
        return pb.TransformData(table=pb.LabelledTable(table=_table(data)))
    data = _labelled_data(data, label)
    if isinstance(data, str):
        return pb.TransformData(dataset=data)
    if isinstance(data, pb.LabelledTable):
        return pb.TransformData(table=data)
    return pb.TransformData(inline_data=data)


class Client:
    """A Modelwire client: `with Client("127.0.0.1", 7411) as client: client.predict("iris", rows)`.

    `timeout` is the default call timeout in seconds (None = no deadline); every method also takes
    `timeout=`. The connection is opened at construction and reopened by the next call after it
    was lost or the server sent GOAWAY. `retries` > 0 retries unary calls (PROTOCOL.md §9): any
    method whose error carries `retry_after_ms` (after that delay), idempotent ones on UNAVAILABLE.
    `keepalive` (seconds) PINGs a connection idle that long, so the server's idle timeout never
    closes it; a PING without PONG fails the connection's calls with UNAVAILABLE.
    `bearer_token` (default: $MODELWIRE_TOKEN) is sent in the HELLO to a server with --auth-file
    (PROTOCOL.md §3.1): a token it does not know raises Unauthenticated here, a call above the
    token's role raises PermissionDenied and leaves the connection up.
    `tls` connects with TLS to a server started with --tls-cert: True (the system's CAs) or an
    `ssl.SSLContext`, e.g. `tls_context(ca="ca.pem")`, with `cert=`/`key=` for mutual TLS;
    `server_name` is the name its certificate must carry when it is not `host`. Settings that
    cannot work (a plaintext port, an untrusted certificate) raise FailedPrecondition.
    """

    def __init__(self, host="127.0.0.1", port=7411, *, timeout=None, retries=0, connect_timeout=10.0,
                 accept_zlib=True, client_name=CLIENT_NAME, bearer_token=None, protocol_versions=(1,),
                 max_message_bytes=64 << 20, keepalive=None, tls=None, server_name=None):
        self.host, self.port = host, port
        if bearer_token is None:
            bearer_token = os.environ.get("MODELWIRE_TOKEN") or None  # a server with --auth-file wants one
        self.timeout = timeout
        self.retries = retries
        self._connect_args = dict(connect_timeout=connect_timeout, accept_zlib=accept_zlib, client_name=client_name,
                                  bearer_token=bearer_token, protocol_versions=protocol_versions,
                                  max_message_bytes=max_message_bytes, keepalive=keepalive, tls=tls,
                                  server_name=server_name)
        self._lock = threading.Lock()
        self._connection = Connection(host, port, **self._connect_args)

    # -- plumbing --------------------------------------------------------------------------------------------------
    @property
    def connection(self):
        with self._lock:
            if not self._connection.usable:
                old = self._connection
                self._connection = Connection(self.host, self.port, **self._connect_args)
                if old.closed is not None:
                    old.close()
            return self._connection

    @property
    def server_hello(self):
        return self._connection.server_hello

    @property
    def role(self):
        """The connection's role as the server announced it (pb.ROLE_*; ROLE_UNSPECIFIED: no authentication)."""
        return self._connection.server_hello.role

    @property
    def limits(self):
        return self._connection.server_hello.limits

    def _timeout(self, timeout):
        return self.timeout if timeout is None else timeout

    def call(self, method, request, response_type, timeout=None, compress=None):
        """A unary call: returns the decoded response message or raises a ModelwireError (retried per `retries`)."""
        attempt = 0
        while True:
            try:
                return self._call_once(method, request, response_type, timeout, compress)
            except ModelwireError as error:
                attempt += 1
                if attempt > self.retries:
                    raise
                backoff = min(1.0, 0.01 * 2 ** attempt)  # grows, so a short hint cannot burn every attempt
                if error.retry_after_ms is not None and error.code in (8, 14):
                    time.sleep(max(error.retry_after_ms / 1000, backoff))
                elif error.code == 14 and method not in NOT_IDEMPOTENT:
                    time.sleep(backoff)
                else:
                    raise

    def _call_once(self, method, request, response_type, timeout, compress):
        call = self.connection.open_call(method, request, self._timeout(timeout), compress=compress)
        try:
            payload, end = call.next()
            if not end:
                raise Unavailable("a unary call got more than one response")
            return response_type.FromString(payload)
        except KeyboardInterrupt:
            call.cancel()
            raise

    def stream(self, method, request, timeout=None):
        call = self.connection.open_call(method, request, self._timeout(timeout))
        return ResponseStream(call, pb.TrainEvent)

    def close(self):
        self._connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def ping(self, timeout=5.0):
        """Sends PING and waits for the PONG; returns the round trip in seconds."""
        return self.connection.ping(timeout)

    # -- calls -----------------------------------------------------------------------------------------------------
    def predict(self, model, inputs=None, *, table=None, version=None, alias=None, include_probabilities=False,
                timeout=None, compress=None, feature_names=None):
        """Runs a model on rows: a PredictResponse.

        `inputs` is a numpy 2-D array, a list of rows or a Tensor (columns in the model's order), or
        named columns: a Dataset with feature_names (as `read_csv` gives), a pandas DataFrame, a dict
        of name -> column, or rows with `feature_names=[...]`. Named columns are put in the model's
        order (DescribeModel's feature_names, one extra call); columns the model does not use are
        left out, and a missing one is a ValueError naming it.

        A model trained from a table (it has preprocessing) takes raw typed columns: `table=` a
        Table, a DataFrame, a dict of columns or a list of dict rows (text, gaps as None/NaN/pd.NA;
        see `modelwire.table`), sent as they are and matched by name on the server. A DataFrame, a
        dict or a list of dict rows given as `inputs` goes as a table too when DescribeModel shows
        the model has preprocessing (and as numeric rows otherwise); a Table always does.
        compress=True forces a compressed request; None compresses above the server's threshold.
        """
        ref = _model_ref(model, version, alias)
        if table is not None and inputs is not None:
            raise ValueError("give inputs or table, not both")
        if table is None and isinstance(inputs, (pb.Table, pb.LabelledTable)):
            table, inputs = inputs, None
        if table is None and feature_names is None and _is_tabular(inputs) and not isinstance(inputs, pb.Dataset):
            info = self.call(METHOD["describe_model"], pb.DescribeModelRequest(model=ref), pb.ModelVersionInfo, timeout)
            if info.HasField("preprocessing"):
                table, inputs = inputs, None
            else:
                values, names = _named_columns(inputs, None)
                inputs = _in_model_order(values, names, list(info.feature_names))
        if table is not None:
            request = pb.PredictRequest(model=ref, table=_table(table), include_probabilities=include_probabilities)
            return self.call(METHOD["predict"], request, pb.PredictResponse, timeout, compress)
        if inputs is None:
            raise TypeError("predict needs inputs or table")
        values, names = _named_columns(inputs, feature_names)
        if names is not None:
            wanted = list(self.call(METHOD["describe_model"], pb.DescribeModelRequest(model=ref), pb.ModelVersionInfo,
                                    timeout).feature_names)
            values = _in_model_order(values, names, wanted)
        request = pb.PredictRequest(model=ref, inputs=values, include_probabilities=include_probabilities)
        return self.call(METHOD["predict"], request, pb.PredictResponse, timeout, compress)

    def train(self, model, data, spec="logistic", options=None, *, label=None, preprocessing=None, timeout=None):
        """Starts training: a ResponseStream of TrainEvent (accepted, progress..., result); `.wait()` returns the result.

        `data` is a Dataset, a dataset name, or (features, labels); `spec` a ModelSpec, a family name
        as the CLI's --family ("mlp": 64-64 relu, "logistic", "svm", "tree", "forest", "gbdt") or a dict; `options` a TrainingOptions or a dict (proto JSON names).

        `data` may also be a table: a pandas DataFrame, a dict of columns, a list of dict rows or a
        LabelledTable, with `label` naming the label column (or (table, labels)). The model then
        fits and stores its preprocessing (numbers, bools: numeric; text: categorical; gaps imputed)
        and takes raw tables in predict, evaluate and explain. `preprocessing` (for a table, or a
        dataset uploaded as one) is a PreprocessingSpec or a dict, e.g. {"categorical": ["zip"],
        "drop": ["id"], "encoding": "one_hot", "max_categories": 20, "unknown_categories": "error",
        "numeric_imputation": "median", "missing_indicators": True} (see `modelwire.preprocessing_spec`).
        """
        request = pb.TrainRequest(model=model, spec=_spec(spec), options=_options(options),
                                  preprocessing=_preprocessing_spec(preprocessing))
        _set_data(request, _labelled_data(data, label))
        return self.stream(METHOD["train"], request, timeout)

    def tune(self, model, data, spec="mlp", grid=None, *, random_trials=0, seed=0, folds=5, shuffle=True,
             explicit_folds=None, metric="default", max_trials=0, options=None, label=None, preprocessing=None,
             timeout=None):
        """Starts a cross-validated hyper-parameter search (PROTOCOL.md §5, Tune): a ResponseStream of TrainEvent
        (accepted, one progress per finished trial with its `trial` set, result); `.wait()` returns the
        TrainResult, whose `tune` holds every trial; the best configuration, refit on all rows, is the new version.

        `data`, `spec`, `label` and `preprocessing` as `train` (a table's preprocessing is fitted once on all
        rows, then the folds are cut); `grid` a dict {parameter: [values]} (values as text or numbers; lists of
        layer sizes for "hidden") or a list of (name, values) pairs, in the order to expand (the last varies
        fastest); `explicit_folds` a list of test-row index lists (e.g. scikit-learn's splits); `metric` one of
        "default", "accuracy", "f1_macro", "log_loss", "rmse", "r2".
        """
        metrics = {"default": pb.TUNE_METRIC_DEFAULT, "accuracy": pb.TUNE_METRIC_ACCURACY,
                   "f1_macro": pb.TUNE_METRIC_F1_MACRO, "log_loss": pb.TUNE_METRIC_LOG_LOSS,
                   "rmse": pb.TUNE_METRIC_RMSE, "r2": pb.TUNE_METRIC_R2}
        if metric not in metrics:
            raise ValueError(f"metric must be one of {', '.join(metrics)}, not {metric!r}")
        request = pb.TuneRequest(model=model, spec=_spec(spec), random_trials=random_trials, seed=seed,
                                 folds=folds, no_shuffle=not shuffle, metric=metrics[metric], max_trials=max_trials,
                                 options=_options(options), preprocessing=_preprocessing_spec(preprocessing))
        for name, values in (grid.items() if isinstance(grid, dict) else (grid or [])):
            request.grid.add(name=name, values=[_grid_value(v) for v in values])
        for rows in explicit_folds or []:
            request.explicit_folds.add(test_rows=[int(r) for r in rows])
        _set_data(request, _labelled_data(data, label))
        return self.stream(METHOD["tune"], request, timeout)

    def quantize(self, model, *, version=None, alias=None, to="", calibration_data=None, activation_scaling="auto",
                 eval_data=None, label=None, timeout=None):
        """Quantizes a dense net or a linear model to int8 into a new version (PROTOCOL.md §5, Quantize): a
        ResponseStream of TrainEvent like `train`; `.wait()` returns the TrainResult, whose `report` compares
        source and result.

        `activation_scaling`: "auto" (dynamic per row, unless static scales from `calibration_data` score
        better on `eval_data`), "dynamic" or "static" (needs `calibration_data`). `calibration_data` takes
        what `train` takes, or bare feature rows (a 2-D array or list of rows; labels are not needed). For a
        model trained from a table, data arguments may be tables (DataFrames, dicts of columns), `label`
        naming the label column of `eval_data` (calibration rows need none).
        """
        scaling = {"auto": pb.ACTIVATION_SCALING_AUTO, "dynamic": pb.ACTIVATION_SCALING_DYNAMIC,
                   "static": pb.ACTIVATION_SCALING_STATIC}.get(activation_scaling)
        if scaling is None:
            raise ValueError(f"activation_scaling must be auto, dynamic or static, not {activation_scaling!r}")
        if calibration_data is not None and not isinstance(calibration_data, (str, tuple, pb.Dataset)) \
                and not _is_tabular(calibration_data):
            calibration_data = pb.Dataset(features=tensor(calibration_data))
        request = pb.QuantizeRequest(model=_model_ref(model, version, alias), target_model=to,
                                     calibration_data=_transform_data(calibration_data),
                                     activation_scaling=scaling, eval_data=_transform_data(eval_data, label))
        return self.stream(METHOD["quantize"], request, timeout)

    def prune(self, model, sparsity, *, version=None, alias=None, to="", structured=False, fine_tune_epochs=0,
              fine_tune_data=None, fine_tune_options=None, eval_data=None, label=None, timeout=None):
        """Prunes a dense net into a new version (PROTOCOL.md §5, Prune): a ResponseStream of TrainEvent like
        `train`; `.wait()` returns the TrainResult, whose `report` compares source and result.

        `sparsity` in (0, 1): the share of all weights set to zero, or with `structured=True` of each hidden
        layer's units removed. `fine_tune_epochs` > 0 needs `fine_tune_data`. Data arguments take what
        `train` takes (a Dataset, a dataset name, (features, labels), or a table with `label`).
        """
        request = pb.PruneRequest(model=_model_ref(model, version, alias), target_model=to, sparsity=sparsity,
                                  structured=structured, fine_tune_epochs=fine_tune_epochs,
                                  fine_tune_data=_transform_data(fine_tune_data, label),
                                  fine_tune_options=_options(fine_tune_options),
                                  eval_data=_transform_data(eval_data, label))
        return self.stream(METHOD["prune"], request, timeout)

    def distill(self, teacher, model, data, *, hidden=(32,), temperature=4.0, alpha=0.5, options=None,
                eval_data=None, teacher_version=None, label=None, timeout=None):
        """Trains a dense student (hidden layer sizes `hidden`) on the teacher's probabilities softened by
        `temperature` and on the labels of `data` (weight `alpha` on the teacher's term), as the next version
        of `model` (PROTOCOL.md §5, Distill): a ResponseStream of TrainEvent like `train`. A teacher trained
        from a table takes tables, `label` naming their label column."""
        request = pb.DistillRequest(teacher=_model_ref(teacher, teacher_version, None), model=model,
                                    student=pb.DenseNetSpec(hidden=[pb.DenseLayerSpec(units=u) for u in hidden]),
                                    temperature=temperature, alpha=alpha, data=_transform_data(data, label),
                                    options=_options(options), eval_data=_transform_data(eval_data, label))
        return self.stream(METHOD["distill"], request, timeout)

    def evaluate(self, model, data, *, label=None, version=None, alias=None, timeout=None, permutation_repeats=0,
                 permutation_seed=0):
        """Metrics of a model on labelled rows (a Dataset, (features, labels) or an uploaded dataset's name),
        or, for a model trained from a table, on a table (a DataFrame, a dict of columns, a list of
        dict rows or a LabelledTable) with `label` naming its label column.

        permutation_repeats=N (1-100) also returns `permutation_importance` per feature (score drop
        when its values are shuffled, N shuffles seeded by permutation_seed; per raw column for a
        model with preprocessing).
        """
        request = pb.EvaluateRequest(model=_model_ref(model, version, alias), permutation_repeats=permutation_repeats,
                                     permutation_seed=permutation_seed)
        _set_data(request, _labelled_data(data, label))
        return self.call(METHOD["evaluate"], request, pb.EvaluateResponse, timeout)

    def explain(self, model, data=None, *, table=None, rows=None, method=None, target_class=None, steps=0,
                feature_names=None, label=None, version=None, alias=None, timeout=None):
        """Per-row feature attributions of a model's predictions (PROTOCOL.md §5, Explain).

        `data` is a Dataset, an uploaded dataset's name, or rows (a 2-D numpy array, a list of rows,
        a pandas DataFrame; `feature_names` names their columns, else they are in the model's order).
        `rows` picks row indices (default all, at most 1024); `method` is "ig", "linear" or "treeshap"
        (default: the family's own); `target_class` a class name (default: each row's predicted class);
        `steps` integrated gradients' path steps (0: 64). Returns an `Explanation`.

        A model trained from a table takes raw typed columns: `table=` (a Table, a DataFrame, a dict of
        columns, a list of dict rows or a LabelledTable; `label` may name a label column, which is
        then not explained). A DataFrame, a dict or a list of dict rows given as `data` goes as a
        table when DescribeModel shows the model has preprocessing (one extra call). Its
        attributions are then per raw column (`feature_names`), summed over its encoded features.
        """
        methods = {None: 0, "ig": 1, "linear": 2, "treeshap": 3}
        if method not in methods:
            raise ValueError(f"method must be one of ig, linear, treeshap, not {method!r}")
        ref = _model_ref(model, version, alias)
        request = pb.ExplainRequest(model=ref, rows=list(rows or []),
                                    method=methods[method], target_class=target_class or "", steps=steps)
        if table is not None and data is not None:
            raise ValueError("give data or table, not both")
        if table is None and isinstance(data, (pb.Table, pb.LabelledTable)):
            table, data = data, None
        if (table is None and feature_names is None and _is_tabular(data) and not isinstance(data, pb.Dataset)
                and self.call(METHOD["describe_model"], pb.DescribeModelRequest(model=ref), pb.ModelVersionInfo,
                              timeout).HasField("preprocessing")):
            table, data = data, None
        if table is not None:
            if isinstance(table, pb.LabelledTable):
                request.table.CopyFrom(table if label is None else _labelled_table(table, label))
            else:
                request.table.CopyFrom(pb.LabelledTable(table=_table(table), label_column=label or ""))
        elif data is None:
            raise TypeError("explain needs data or table")
        elif isinstance(data, str):
            request.dataset = data
        elif isinstance(data, pb.Dataset):
            request.inline_data.CopyFrom(data)
        else:
            values, names = _named_columns(data, feature_names)
            request.inline_data.CopyFrom(pb.Dataset(features=values, feature_names=names or []))
        return Explanation(self.call(METHOD["explain"], request, pb.ExplainResponse, timeout))

    def upload_dataset(self, name, data, *, label=None, replace=False, chunk_bytes=1 << 20, timeout=None):
        """Uploads a dataset in chunks of about `chunk_bytes` (client streaming): its DatasetInfo.

        `data` is what `train` takes: a Dataset, (features, labels), or a table (a DataFrame, a dict of
        columns, a list of dict rows or a LabelledTable) with `label` naming its label column, sent
        as LabelledTable chunks of whole rows with the same columns; the DatasetInfo then has
        `label_column`, and models trained from it by name fit their preprocessing.
        """
        data = _labelled_data(data, label)
        if isinstance(data, str):
            raise TypeError("upload_dataset needs rows, not a name")
        if isinstance(data, pb.LabelledTable):
            total = _table_rows(data)
            per_chunk = max(1, chunk_bytes * max(1, total) // max(1, data.ByteSize()))
        else:
            columns = max(1, data.features.columns)
            total = _rows(data.features)
            per_chunk = max(1, chunk_bytes // (4 * columns + 8))
        starts = list(range(0, total, per_chunk)) or [0]
        connection = self.connection
        call = None
        for index, start in enumerate(starts):
            last = index == len(starts) - 1
            stop = min(total, start + per_chunk)
            if isinstance(data, pb.LabelledTable):
                chunk = pb.UploadDatasetRequest(name=name, table=_slice_table(data, start, stop))
            else:
                chunk = pb.UploadDatasetRequest(name=name, rows=slice_dataset(data, start, stop,
                                                                              with_feature_names=index == 0))
            if index == 0:
                chunk.replace = replace
                call = connection.open_call(METHOD["upload_dataset"], chunk, self._timeout(timeout), end_stream=last)
                continue
            error = call.failed()
            if error is not None:  # the server answered early (e.g. ALREADY_EXISTS): stop sending
                raise error
            payload, flags = connection.encode(chunk)
            connection.send_frame(F.MESSAGE, payload, flags | (F.END_STREAM if last else 0), call_id=call.call_id)
        payload, _ = call.next()
        return pb.DatasetInfo.FromString(payload)

    def list_datasets(self, *, timeout=None):
        return list(self.call(METHOD["list_datasets"], pb.ListDatasetsRequest(), pb.ListDatasetsResponse,
                              timeout).datasets)

    def delete_dataset(self, name, *, timeout=None):
        self.call(METHOD["delete_dataset"], pb.DeleteDatasetRequest(name=name), pb.DeleteDatasetResponse, timeout)

    def list_models(self, *, timeout=None):
        return list(self.call(METHOD["list_models"], pb.ListModelsRequest(), pb.ListModelsResponse, timeout).models)

    def describe_model(self, model, *, version=None, alias=None, timeout=None):
        return self.call(METHOD["describe_model"], pb.DescribeModelRequest(model=_model_ref(model, version, alias)),
                         pb.ModelVersionInfo, timeout)

    def delete_model(self, name, *, version=None, timeout=None):
        """Deletes one version, or the whole model when version is None; returns the deleted versions."""
        request = pb.DeleteModelRequest(name=name)
        if version is not None:
            request.version = version
        return list(self.call(METHOD["delete_model"], request, pb.DeleteModelResponse, timeout).deleted_versions)

    def set_alias(self, name, alias, version, *, timeout=None):
        """Points an alias at a version; returns where it pointed before, or None."""
        response = self.call(METHOD["set_alias"], pb.SetAliasRequest(name=name, alias=alias, version=version),
                             pb.SetAliasResponse, timeout)
        return response.previous_version if response.HasField("previous_version") else None

    def export_model(self, model, *, version=None, alias=None, timeout=None):
        """An ExportModelResponse: name, version and the stored ModelFile bytes."""
        return self.call(METHOD["export_model"], pb.ExportModelRequest(model=_model_ref(model, version, alias)),
                         pb.ExportModelResponse, timeout)

    def import_model(self, model_file, name="", *, timeout=None):
        """Stores ModelFile bytes (or a ModelFile) as the next version of `name`: its ModelVersionInfo."""
        if isinstance(model_file, pb.ModelFile):
            model_file = model_file.SerializeToString(deterministic=True)
        return self.call(METHOD["import_model"], pb.ImportModelRequest(name=name, model_file=model_file),
                         pb.ModelVersionInfo, timeout)

    def import_onnx(self, onnx_model, name, *, timeout=None):
        """Converts an ONNX model (serialized onnx.ModelProto bytes, or an object with
        SerializeToString, e.g. onnx.ModelProto) and stores it as the next version of `name`: its
        ModelVersionInfo. An unsupported or malformed graph raises InvalidArgument naming the node."""
        if hasattr(onnx_model, "SerializeToString"):
            onnx_model = onnx_model.SerializeToString()
        return self.call(METHOD["import_model"], pb.ImportModelRequest(name=name, onnx_model=bytes(onnx_model)),
                         pb.ModelVersionInfo, timeout)

    def export_onnx(self, model, *, version=None, alias=None, timeout=None):
        """An ExportModelResponse whose onnx_model holds the version as an ONNX model (PROTOCOL.md §14)."""
        request = pb.ExportModelRequest(model=_model_ref(model, version, alias), format=pb.EXPORT_FORMAT_ONNX)
        return self.call(METHOD["export_model"], request, pb.ExportModelResponse, timeout)

    def get_job(self, job_id, *, timeout=None):
        return self.call(METHOD["get_job"], pb.GetJobRequest(job_id=job_id), pb.Job, timeout)

    def list_jobs(self, *, timeout=None):
        return list(self.call(METHOD["list_jobs"], pb.ListJobsRequest(), pb.ListJobsResponse, timeout).jobs)

    def watch_job(self, job_id, *, timeout=None):
        """A ResponseStream of the job's TrainEvents: the latest progress at once, then new ones to the end."""
        return self.stream(METHOD["watch_job"], pb.WatchJobRequest(job_id=job_id), timeout)

    def cancel_job(self, job_id, *, timeout=None):
        return self.call(METHOD["cancel_job"], pb.CancelJobRequest(job_id=job_id), pb.Job, timeout)

    def health(self, *, timeout=None):
        return self.call(METHOD["health"], pb.HealthRequest(), pb.HealthResponse, timeout)

    def info(self, *, timeout=None):
        return self.call(METHOD["server_info"], pb.ServerInfoRequest(), pb.ServerInfoResponse, timeout)

    server_info = info


__all__ = ["Client", "Connection", "ResponseStream", "METHOD"]
