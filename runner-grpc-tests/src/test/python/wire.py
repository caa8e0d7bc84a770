"""What the Python peers share: the stubs generated from the project's protos, and the value encodings.

The stubs are not committed: they are generated at test time from transport-grpc/src/main/protobuf (and
health.proto beside this file) into a folder named by the environment variable MODELRUNNER_PYTHON_STUBS,
by default runner-grpc-tests/target/python-stubs-1, which the cross-language tests fill (one folder per
test JVM: python-stubs-1, python-stubs-2). To generate them by hand, from runner-grpc-tests:

    mkdir -p target/python-stubs-1 && /usr/bin/protoc -I ../transport-grpc/src/main/protobuf \\
        -I src/test/python --python_out=target/python-stubs-1 \\
        --grpc_python_out=target/python-stubs-1 --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \\
        commons.proto dynamic_subclass.proto health.proto

(google/protobuf/empty.proto comes from Debian's libprotobuf-dev; the tests take it from protobuf-java.)

Values follow PROTOCOL section 2, as the Python model-runner writes them: DOUBLE is an IEEE-754 binary64,
little-endian; INT 8 bytes little-endian two's complement (any length accepted on decode); STRING UTF-8;
JSON is json.dumps' text, with the bare tokens NaN, Infinity and -Infinity.
"""

import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_STUBS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "target", "python-stubs-1"))
STUBS = os.environ.get("MODELRUNNER_PYTHON_STUBS") or DEFAULT_STUBS

if not os.path.isfile(os.path.join(STUBS, "dynamic_subclass_pb2_grpc.py")):
    sys.stderr.write(
        "No generated stubs in %s: run the cross-language tests once, or protoc as this file's docstring "
        "says (set MODELRUNNER_PYTHON_STUBS to use another folder).\n" % STUBS)
    sys.exit(2)
sys.path.insert(0, STUBS)

import grpc  # noqa: E402
import commons_pb2  # noqa: E402
import dynamic_subclass_pb2  # noqa: E402
import dynamic_subclass_pb2_grpc  # noqa: E402

try:  # the grpcio-health-checking package, when installed
    from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
except ImportError:  # the same service generated from health.proto
    import health_pb2  # noqa: E402
    import health_pb2_grpc  # noqa: E402

from google.protobuf import empty_pb2  # noqa: E402

VariantType = commons_pb2.VariantType

# The default message size limit of the protocol, both ways.
MAX_MESSAGE = 64 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE),
    ("grpc.max_receive_message_length", MAX_MESSAGE),
]


def detect_type(value):
    """The Python runner's result type detection (first match): float, int and bool, str, dict/list."""
    if isinstance(value, float):
        return VariantType.DOUBLE
    if isinstance(value, (bool, int)):
        return VariantType.INT
    if isinstance(value, str):
        return VariantType.STRING
    if isinstance(value, (dict, list)):
        return VariantType.JSON
    raise TypeError("Unsupported data type: %s" % type(value).__name__)


def encode(value, variant_type=None):
    """Returns the commons.Variant of a Python value: its detected type unless one is given."""
    if value is None:
        return commons_pb2.Variant(type=VariantType.NONE, value=b"")
    variant_type = detect_type(value) if variant_type is None else variant_type
    if variant_type == VariantType.DOUBLE:
        data = struct.pack("<d", float(value))
    elif variant_type == VariantType.INT:
        data = int(value).to_bytes(8, "little", signed=True)
    elif variant_type == VariantType.STRING:
        data = value.encode("utf-8")
    elif variant_type == VariantType.JSON:
        data = json.dumps(value).encode("utf-8")
    else:
        raise TypeError("Cannot encode %s as %s" % (type(value).__name__, VariantType.Name(variant_type)))
    return commons_pb2.Variant(type=variant_type, value=data)


def decode(variant):
    """Returns the Python value of a commons.Variant."""
    data = variant.value
    if variant.type == VariantType.NONE:
        return None
    if variant.type == VariantType.DOUBLE:
        if len(data) != 8:
            raise ValueError("A DOUBLE has 8 bytes, got %d" % len(data))
        return struct.unpack("<d", data)[0]
    if variant.type == VariantType.INT:
        return int.from_bytes(data, "little", signed=True)
    if variant.type == VariantType.STRING:
        return data.decode("utf-8")
    if variant.type == VariantType.JSON:
        return json.loads(data.decode("utf-8"))
    raise ValueError("Unsupported variant type: %s" % VariantType.Name(variant.type))
