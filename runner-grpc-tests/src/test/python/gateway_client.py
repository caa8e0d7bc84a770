"""A Python gateway-auth coordinator (PROTOCOL-SECURITY section B.2) against a runner with gateway auth.

Usage: gateway_client.py HOST:PORT VECTORS_DIR

The runner must serve plaintext with VECTORS_DIR/gateway/certs.json as its cert file and MODEL_ID model-42.
Tokens are made here as the Python client 0.12 makes them, with the cryptography package: compact JSON
{"model_id":…,"timestamp":…} at the current time, RSASSA-PKCS1-v1_5/SHA-256 with gateway/coordinator_rsa.key,
the key's SPKI DER as x-gateway-auth-pubkey. Checks: a fresh token is accepted; a stale one, one from an
unregistered key, one for another model, and none at all get UNAUTHENTICATED "Gateway authentication failed";
health needs no token. Prints one JSON line: {"ok": bool, "mismatches": [...], "results": {...}}.
"""

import base64
import json
import math
import os
import sys
import time

import wire  # noqa: F401  (puts the generated stubs on the path)
import grpc
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

ds = wire.dynamic_subclass_pb2
TIMEOUT = 20


def token(key_file, model_id, timestamp):
    with open(key_file, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    payload = json.dumps({"model_id": model_id, "timestamp": timestamp}, separators=(",", ":")).encode()
    signature = key.sign(payload, padding.PKCS1v15(), hashes.SHA256())
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return [("x-gateway-auth-message", base64.b64encode(payload).decode()),
            ("x-gateway-auth-signature", base64.b64encode(signature).decode()),
            ("x-gateway-auth-pubkey", base64.b64encode(spki).decode())]


def main(argv):
    target, vectors = argv[1], argv[2]
    registered = os.path.join(vectors, "gateway", "coordinator_rsa.key")
    unregistered = os.path.join(vectors, "gateway", "unregistered_rsa.key")
    results, mismatches = {}, []

    def expect(name, what, actual, expected):
        if actual != expected:
            mismatches.append("%s: %s is %r, expected %r" % (name, what, actual, expected))

    with grpc.insecure_channel(target) as channel:
        stub = wire.dynamic_subclass_pb2_grpc.DynamicSubclassServiceStub(channel)

        def call(name, metadata):
            try:
                response = stub.Call(ds.CallRequest(methodName="predict"), metadata=metadata, timeout=TIMEOUT)
                results[name] = {"grpc": "OK", "status": response.status.code}
            except grpc.RpcError as error:
                results[name] = {"grpc": error.code().name, "details": error.details()}

        now = math.floor(time.time())
        call("fresh", token(registered, "model-42", now))
        expect("fresh", "gRPC status", results["fresh"]["grpc"], "OK")
        expect("fresh", "status", results["fresh"].get("status"), "FAILED_PRECONDITION")
        for name, metadata in (("stale", token(registered, "model-42", now - 60)),
                               ("future", token(registered, "model-42", now + 60)),
                               ("unregistered_key", token(unregistered, "model-42", now)),
                               ("other_model", token(registered, "model-43", now)),
                               ("no_token", [])):
            call(name, metadata)
            expect(name, "gRPC status", results[name]["grpc"], "UNAUTHENTICATED")
            expect(name, "details", results[name].get("details"), "Gateway authentication failed")

        health = wire.health_pb2_grpc.HealthStub(channel).Check(wire.health_pb2.HealthCheckRequest(),
                                                                timeout=TIMEOUT)
        results["health"] = wire.health_pb2.HealthCheckResponse.ServingStatus.Name(health.status)
        expect("health", "status", results["health"], "SERVING")

    print(json.dumps({"ok": not mismatches, "mismatches": mismatches, "results": results}))
    return 0 if not mismatches else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
