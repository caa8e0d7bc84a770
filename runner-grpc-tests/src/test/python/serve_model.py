"""A minimal Python model runner, for Java coordinators to call.

    python3 serve_model.py PORT

It serves dynamic_subclass.DynamicSubclassService and grpc.health.v1.Health on 127.0.0.1:PORT (0 picks a
free port), prints the port on a line of its own once it accepts calls, and serves until it is killed.
It follows PROTOCOL section 1.4 for the cases it needs: exact status codes and messages, one request at a
time (another gets RESOURCE_EXHAUSTED "Server busy" at once), keyword arguments that name no free
parameter dropped, a clean new instance after Rest. Values are encoded as in section 2 (wire.py).

The model it hosts is Model below, a subclass of the base class named crosslang.tracker.TrackerBase.
"""

import inspect
import sys
import threading
import time
from concurrent import futures

sys.dont_write_bytecode = True

import wire  # noqa: E402
from wire import dynamic_subclass_pb2 as ds, commons_pb2, grpc  # noqa: E402


# --- The coordinator's base class and a participant's model -------------------------------------------

class TrackerBase:
    """The base class a coordinator publishes (its qualified name is BASE_CLASS_NAME)."""

    def tick(self, data):
        raise NotImplementedError

    def predict(self):
        raise NotImplementedError


class Model(TrackerBase):
    """A participant's model: remembers the last price, scaled by its constructor argument."""

    def __init__(self, scale=1.0):
        if isinstance(scale, str):
            raise ValueError("scale must be a number, got %r" % scale)
        self.scale = scale
        self.price = None
        self.ticks = 0

    def tick(self, data):
        self.price = float(data["price"])
        self.ticks += 1

    def predict(self):
        if self.price is None:
            raise ValueError("no tick yet")
        return self.price * self.scale

    def ticks_seen(self):
        return self.ticks

    def ready(self):
        return self.ticks > 0

    def describe(self, name, count, factor):
        return "%s|%s:%r|%s:%r" % (name, type(count).__name__, count, type(factor).__name__, factor)

    def stats(self):
        return {"price": self.price, "ticks": self.ticks, "gap": float("nan"), "up": float("inf"),
                "down": float("-inf"), "tags": ["a", 1, 2.5, None, True]}

    def nothing(self):
        return None

    def kind_of(self, value=0, metrics=None):
        return "%s|%s" % (type(value).__name__, metrics)

    def explode(self):
        raise RuntimeError("boom from Python")

    def sleep(self, seconds):
        time.sleep(seconds)


BASE_CLASS_NAME = "crosslang.tracker.TrackerBase"
BASE_CLASSES = {BASE_CLASS_NAME: TrackerBase}


def implementation_of(base):
    """The first subclass of base defined here, in alphabetical order (as the Python runner's scan)."""
    candidates = sorted((name, value) for name, value in globals().items()
                        if inspect.isclass(value) and issubclass(value, base) and value is not base)
    return candidates[0][1] if candidates else None


# --- The runner ---------------------------------------------------------------------------------------

def status(code, message=""):
    return commons_pb2.Status(code=code, message=message)


class Runner(wire.dynamic_subclass_pb2_grpc.DynamicSubclassServiceServicer):
    def __init__(self):
        self.lock = threading.Lock()
        self.instance = None

    def _exclusive(self, context):
        if not self.lock.acquire(blocking=False):
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "Server busy")

    def Setup(self, request, context):
        self._exclusive(context)
        try:
            return ds.SetupResponse(status=self._setup(request))
        finally:
            self.lock.release()

    def _setup(self, request):
        class_name = request.className.strip()
        if not class_name:
            return status("INVALID_ARGUMENT", "class_name cannot be empty")
        if self.instance is not None:
            return status("SUCCESS", "Instance already exists")
        if "." not in class_name:
            return status("SETUP_FAILED", "Invalid class name: %s" % class_name)
        base = BASE_CLASSES.get(class_name)
        implementation = implementation_of(base) if base is not None else None
        if implementation is None:
            return status("BAD_IMPLEMENTATION", "No Inherited class found from <class '%s'>." % class_name)
        try:
            args, kwargs = arguments(request.instanceArguments, request.instanceKwArguments)
            self.instance = implementation(*args, **kwargs)
        except Exception as error:
            return status("SETUP_FAILED", str(error))
        return status("SUCCESS", "Instance created successfully")

    def Call(self, request, context):
        self._exclusive(context)
        try:
            return self._call(request)
        finally:
            self.lock.release()

    def _call(self, request):
        if self.instance is None:
            return ds.CallResponse(status=status("FAILED_PRECONDITION", "Setup has not been called yet"))
        name = request.methodName
        if not name:
            return ds.CallResponse(status=status("INVALID_ARGUMENT", "methodName cannot be empty"))
        method = getattr(self.instance, name, None) if not name.startswith("_") else None
        if not callable(method):
            return ds.CallResponse(status=status(
                "BAD_IMPLEMENTATION",
                'Method "%s" not found in class "%s"' % (name, type(self.instance).__name__)))
        try:
            args, kwargs = arguments(request.methodArguments, request.methodKwArguments)
            result = method(*args, **usable_keywords(method, len(args), kwargs))
            if result is None:
                return ds.CallResponse(status=status("SUCCESS"))
            return ds.CallResponse(status=status("SUCCESS"), methodResponse=wire.encode(result))
        except Exception as error:
            return ds.CallResponse(status=status("MODEL_FAILED", "The model raised an exception: %s" % error))

    def Rest(self, request, context):
        self._exclusive(context)
        try:
            if self.instance is None:
                return ds.RestResponse(status=status("SUCCESS", "No instance exists to reset"))
            self.instance = None
            return ds.RestResponse(status=status("SUCCESS", "Instance successfully reset"))
        finally:
            self.lock.release()


def arguments(positional, keyword):
    """Decodes arguments: positional ones sorted by position (stable for ties), keyword ones by name."""
    args = [wire.decode(a.data) for a in sorted(positional, key=lambda a: a.position)]
    kwargs = {k.keyword: wire.decode(k.data) for k in keyword}
    return args, kwargs


def usable_keywords(method, positional_count, kwargs):
    """The keyword arguments that name a declared parameter not already filled by a positional one."""
    parameters = list(inspect.signature(method).parameters.values())
    filled = {p.name for p in parameters[:positional_count]}
    declared = {p.name for p in parameters
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return {k: v for k, v in kwargs.items() if k in declared and k not in filled}


class Health(wire.health_pb2_grpc.HealthServicer):
    """Service "" is SERVING while the process is up; other names are unknown."""

    def _status(self, request, context):
        if request.service != "":
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return wire.health_pb2.HealthCheckResponse(status=wire.health_pb2.HealthCheckResponse.SERVING)

    def Check(self, request, context):
        return self._status(request, context)

    def Watch(self, request, context):
        yield self._status(request, context)
        stopped = threading.Event()
        context.add_callback(stopped.set)
        stopped.wait()


def main(argv):
    if len(argv) != 2 or not argv[1].isdigit():
        sys.stderr.write("usage: serve_model.py PORT\n")
        return 2
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=wire.CHANNEL_OPTIONS)
    wire.dynamic_subclass_pb2_grpc.add_DynamicSubclassServiceServicer_to_server(Runner(), server)
    wire.health_pb2_grpc.add_HealthServicer_to_server(Health(), server)
    port = server.add_insecure_port("127.0.0.1:%s" % argv[1])
    if port == 0:
        sys.stderr.write("cannot bind 127.0.0.1:%s\n" % argv[1])
        return 1
    server.start()
    print(port, flush=True)
    server.wait_for_termination()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
