"""A Python coordinator that drives a runner with the stubs generated from the project's protos.

    python3 call_runner.py HOST:PORT [BASE_CLASS]

It expects the runner to host the model of the Java cross-language test (PythonCoordinatorCrossLanguageTest):
a subclass of BASE_CLASS (by default org.modelrunner.transport.grpc.crosslang.fixtures.TickerBase) with

    void tick(Map<String, Object> data)          stores data["price"], counts ticks
    double predict()                             the last price
    long ticks()                                 the ticks seen by this instance
    boolean ready()                              whether a tick arrived
    String greet(String name)                    "hello " + name
    double scale(double factor, long times)      factor * times
    Map<String, Object> snapshot()               price, ticks and non-finite doubles (gap, up, down)
    void explode()                               throws IllegalStateException("boom from Java")
    void sleep(long millis)                      sleeps

and that no Setup reached the runner before. It calls it as a Python coordinator does, checks every
answer against PROTOCOL sections 1 and 2, prints one JSON line {"ok": ..., "results": {...},
"mismatches": [...]} and exits with 0 when everything matched, 1 otherwise (2 on a usage error).
"""

import json
import math
import sys
import threading
import time

sys.dont_write_bytecode = True

import wire  # noqa: E402
from wire import VariantType, commons_pb2, dynamic_subclass_pb2 as ds, grpc  # noqa: E402

DEFAULT_BASE = "org.modelrunner.transport.grpc.crosslang.fixtures.TickerBase"
RPC_TIMEOUT = 30.0
PREFIX = "The model raised an exception: "


class Check:
    """Collects the results (what came back) and the mismatches (what differed from the protocol)."""

    def __init__(self):
        self.results = {}
        self.mismatches = []

    def record(self, name, **fields):
        self.results[name] = fields
        return fields

    def expect(self, name, what, actual, expected):
        if actual != expected:
            self.mismatches.append("%s: %s is %r, expected %r" % (name, what, actual, expected))

    def fail(self, name, text):
        self.mismatches.append("%s: %s" % (name, text))


def positional(*values):
    """Positional arguments numbered from 1, as the Python client sends them."""
    return [commons_pb2.Argument(position=i + 1, data=value) for i, value in enumerate(values)]


def keywords(**values):
    return [commons_pb2.KwArgument(keyword=k, data=v) for k, v in values.items()]


def status_of(response):
    return {"code": response.status.code, "message": response.status.message}


def call(stub, method, args=(), kwargs=()):
    return stub.Call(
        ds.CallRequest(methodName=method, methodArguments=list(args), methodKwArguments=list(kwargs)),
        timeout=RPC_TIMEOUT)


def check_status(check, name, response, code, message=None):
    result = check.record(name, **status_of(response))
    check.expect(name, "status code", result["code"], code)
    if message is not None:
        check.expect(name, "status message", result["message"], message)
    return result


def check_value(check, name, response, variant_type, expected_bytes=None, expected_value=None):
    """Checks a successful call's value: its type tag, exact bytes when given, and decoded value."""
    result = check_status(check, name, response, "SUCCESS", "")
    if not response.HasField("methodResponse"):
        check.fail(name, "no methodResponse")
        return result
    variant = response.methodResponse
    result["type"] = VariantType.Name(variant.type)
    result["hex"] = variant.value.hex()
    check.expect(name, "variant type", result["type"], VariantType.Name(variant_type))
    if expected_bytes is not None:
        check.expect(name, "bytes", variant.value.hex(), expected_bytes.hex())
    value = wire.decode(variant)
    result["value"] = value if variant_type != VariantType.JSON else variant.value.decode("utf-8")
    if expected_value is not None:
        check.expect(name, "decoded value", value, expected_value)
    return result


def rpc_error(check, name, action, code):
    """Runs an action that must fail with the gRPC status `code`; returns the error's details."""
    try:
        action()
    except grpc.RpcError as error:
        result = check.record(name, grpc=error.code().name, details=error.details())
        check.expect(name, "gRPC status", error.code(), code)
        return result
    check.record(name, grpc="OK")
    check.fail(name, "the call succeeded, expected gRPC %s" % code.name)
    return None


def health(check, name, channel, service=""):
    stub = wire.health_pb2_grpc.HealthStub(channel)
    response = stub.Check(wire.health_pb2.HealthCheckRequest(service=service), timeout=RPC_TIMEOUT)
    status = wire.health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    check.record(name, status=status)
    check.expect(name, "health", status, "SERVING")


def busy_and_health_during_a_call(check, stub, other_stub, other_channel):
    """While a slow call runs: another call is refused at once with Server busy; health still answers."""
    slow = {}

    def run_slow():
        try:
            slow["response"] = call(stub, "sleep", positional(wire.encode(3000)))
        except grpc.RpcError as error:  # reported below
            slow["error"] = error

    worker = threading.Thread(target=run_slow, daemon=True)
    worker.start()
    time.sleep(0.5)
    busy = None
    tries = 0
    # The slow call may not hold the runner yet: probe until one probe is refused or the slow call ends.
    while worker.is_alive() and busy is None:
        time.sleep(0.1)
        tries += 1
        try:
            call(other_stub, "ticks")
        except grpc.RpcError as error:
            busy = error
    if busy is None:
        check.fail("busy", "no call was refused while 'sleep' ran (%d probes)" % tries)
    else:
        result = check.record("busy", grpc=busy.code().name, details=busy.details())
        check.expect("busy", "gRPC status", busy.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        check.expect("busy", "details", result["details"], "Server busy")
        if worker.is_alive():
            health(check, "health_during_call", other_channel)
            result = check.results["health_during_call"]
            result["call_still_running"] = worker.is_alive()
            check.expect("health_during_call", "the slow call was still running", worker.is_alive(), True)
        else:
            check.fail("health_during_call", "the slow call ended before health could be checked")
    worker.join(RPC_TIMEOUT)
    if "error" in slow:
        check.fail("sleep", "gRPC error %s" % slow["error"].code().name)
    elif "response" in slow:
        check_status(check, "sleep", slow["response"], "SUCCESS", "")
    else:
        check.fail("sleep", "no answer")


def run(check, target, base):
    with grpc.insecure_channel(target, options=wire.CHANNEL_OPTIONS) as channel, \
            grpc.insecure_channel(target, options=wire.CHANNEL_OPTIONS + [("grpc.use_local_subchannel_pool", 1)]) \
            as health_channel:
        grpc.channel_ready_future(channel).result(timeout=RPC_TIMEOUT)
        grpc.channel_ready_future(health_channel).result(timeout=RPC_TIMEOUT)
        stub = wire.dynamic_subclass_pb2_grpc.DynamicSubclassServiceStub(channel)
        other_stub = wire.dynamic_subclass_pb2_grpc.DynamicSubclassServiceStub(health_channel)

        # Health (section 1.3), before anything else.
        health(check, "health", health_channel)
        rpc_error(check, "health_unknown_service",
                  lambda: wire.health_pb2_grpc.HealthStub(health_channel).Check(
                      wire.health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=RPC_TIMEOUT),
                  grpc.StatusCode.NOT_FOUND)

        # Setup (section 1.4).
        check_status(check, "call_before_setup", call(stub, "predict"),
                     "FAILED_PRECONDITION", "Setup has not been called yet")
        check_status(check, "setup_empty", stub.Setup(ds.SetupRequest(className="  "), timeout=RPC_TIMEOUT),
                     "INVALID_ARGUMENT", "class_name cannot be empty")
        check_status(check, "setup", stub.Setup(ds.SetupRequest(className=base), timeout=RPC_TIMEOUT),
                     "SUCCESS", "Instance created successfully")
        check_status(check, "setup_again", stub.Setup(ds.SetupRequest(className=base), timeout=RPC_TIMEOUT),
                     "SUCCESS", "Instance already exists")
        check_status(check, "call_empty_method", call(stub, ""), "INVALID_ARGUMENT", "methodName cannot be empty")

        # tick with a JSON argument, written by json.dumps (with its bare NaN token).
        data = {"price": 101.5, "volume": float("nan"), "symbol": "BTC"}
        tick_argument = wire.encode(data)
        response = call(stub, "tick", positional(tick_argument))
        result = check_status(check, "tick", response, "SUCCESS", "")
        result["argument"] = tick_argument.value.decode("utf-8")
        result["has_value"] = response.HasField("methodResponse")
        check.expect("tick", "methodResponse set", result["has_value"], False)

        # Results of every type (section 2), with their exact bytes.
        check_value(check, "predict", call(stub, "predict"), VariantType.DOUBLE,
                    bytes.fromhex("0000000000605940"), 101.5)
        check_value(check, "ticks", call(stub, "ticks"), VariantType.INT, bytes.fromhex("0100000000000000"), 1)
        check_value(check, "ready", call(stub, "ready"), VariantType.INT, bytes.fromhex("0100000000000000"), 1)
        check_value(check, "greet", call(stub, "greet", positional(wire.encode("Zoë"))), VariantType.STRING,
                    "hello Zoë".encode("utf-8"), "hello Zoë")
        snapshot = check_value(check, "snapshot", call(stub, "snapshot"), VariantType.JSON)
        if snapshot.get("type") == "JSON":
            value = json.loads(snapshot["value"])
            check.expect("snapshot", "price", value.get("price"), 101.5)
            check.expect("snapshot", "ticks", value.get("ticks"), 1)
            check.expect("snapshot", "gap is NaN", value.get("gap") != value.get("gap"), True)
            check.expect("snapshot", "up", value.get("up"), float("inf"))
            check.expect("snapshot", "down", value.get("down"), float("-inf"))

        # Arguments (section 1.5): sorted by position whatever their order and gaps; keywords fill
        # declared parameters not already filled, others are dropped.
        check_value(check, "scale_positional", call(stub, "scale", [
            commons_pb2.Argument(position=7, data=wire.encode(3)),
            commons_pb2.Argument(position=3, data=wire.encode(2.5)),
        ]), VariantType.DOUBLE, bytes.fromhex("0000000000001e40"), 7.5)
        check_value(check, "scale_keywords", call(
            stub, "scale", positional(wire.encode(2.0)),
            keywords(times=wire.encode(4), factor=wire.encode(100.0), unused=wire.encode("dropped"))),
            VariantType.DOUBLE, None, 8.0)

        # Failures are statuses, not gRPC errors.
        check_status(check, "unknown_method", call(stub, "nope"),
                     "BAD_IMPLEMENTATION", 'Method "nope" not found in class "Model"')
        check_status(check, "raises", call(stub, "explode"),
                     "MODEL_FAILED", PREFIX + "java.lang.IllegalStateException: boom from Java")

        # One request at a time, health on a second connection while a call runs.
        busy_and_health_during_a_call(check, stub, other_stub, health_channel)

        # Reset gives a clean new instance (section 1.5).
        check_status(check, "reset", stub.Rest(wire.empty_pb2.Empty(), timeout=RPC_TIMEOUT),
                     "SUCCESS", "Instance successfully reset")
        check_status(check, "reset_again", stub.Rest(wire.empty_pb2.Empty(), timeout=RPC_TIMEOUT),
                     "SUCCESS", "No instance exists to reset")
        check_status(check, "call_after_reset", call(stub, "ticks"),
                     "FAILED_PRECONDITION", "Setup has not been called yet")
        check_status(check, "setup_after_reset", stub.Setup(ds.SetupRequest(className=base), timeout=RPC_TIMEOUT),
                     "SUCCESS", "Instance created successfully")
        check_value(check, "ticks_after_reset", call(stub, "ticks"), VariantType.INT,
                    bytes.fromhex("0000000000000000"), 0)


def finite(value):
    """The results with non-finite floats as strings, so that the output is standard JSON."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def main(argv):
    if len(argv) not in (2, 3) or ":" not in argv[1]:
        sys.stderr.write("usage: call_runner.py HOST:PORT [BASE_CLASS]\n")
        return 2
    base = argv[2] if len(argv) == 3 else DEFAULT_BASE
    check = Check()
    try:
        run(check, argv[1], base)
    except Exception as error:  # an unexpected gRPC error or a dead runner: report it as a mismatch
        check.fail("run", "%s: %s" % (type(error).__name__, error))
    ok = not check.mismatches
    print(json.dumps({"ok": ok, "results": finite(check.results), "mismatches": check.mismatches},
                     ensure_ascii=False, allow_nan=False, sort_keys=True), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
