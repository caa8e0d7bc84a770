"""A Python secure-mode coordinator (PROTOCOL-SECURITY section A.5) against a runner in secure mode.

Usage: secure_client.py HOST:PORT VECTORS_DIR

VECTORS_DIR is shared/vectors/secure. The runner must serve the vectors' cruncher/ folder with the example
environment of secure_mode.json. Like the Python client 0.12, this script probes the runner with a plain TLS
connection (server name model-node-model-42.crunchdao.internal, the coordinator's certificate), pins the
leaf it saw, and checks the x-server-* headers of each answer with the section A.3 algorithm, written here
with Python's ssl and the cryptography package (not with the Java code under test). It also checks that an
unregistered coordinator is refused trailers-only and that a plaintext client cannot talk to the runner.
Prints one JSON line: {"ok": bool, "mismatches": [...], "results": {...}}.
"""

import base64
import json
import os
import socket
import ssl
import sys

import wire  # noqa: F401  (puts the generated stubs on the path)
import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ds = wire.dynamic_subclass_pb2
TARGET = "model-node-model-42.crunchdao.internal"
TIMEOUT = 20
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(text):
    value = 0
    for c in text:
        value = value * 58 + B58.index(c)
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + raw


def probe(host, port, credentials, authority):
    """The client's TLS probe: the runner's leaf certificate (PEM) and its SPKI DER."""
    context = ssl.create_default_context(cafile=os.path.join(authority, "ca.crt"))
    context.load_cert_chain(os.path.join(credentials, "tls.crt"), os.path.join(credentials, "tls.key"))
    context.set_alpn_protocols(["h2"])
    with socket.create_connection((host, port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=TARGET) as tls:
            if not tls.recv(1):
                raise RuntimeError("Server terminated the connection immediately after TLS handshake")
            der = tls.getpeercert(binary_form=True)
    certificate = x509.load_der_x509_certificate(der)
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return certificate.public_bytes(serialization.Encoding.PEM), spki


def verify(headers, wallet, spki, model_id, hotkey):
    """Section A.3 with the client's wording; returns None or the error text."""
    values = {}
    for key, value in headers:
        values[key.lower()] = value
    keys = ("x-server-auth-message", "x-server-auth-signature", "x-server-wallet-pubkey")
    if any(not values.get(key) for key in keys):
        return "Missing auth metadata (x-server-auth-message/x-server-auth-signature/x-server-wallet-pubkey)"
    message = base64.b64decode(values[keys[0]])
    signature = base64.b64decode(values[keys[1]])
    if values[keys[2]] != wallet:
        return "The provided wallet public key does not match the expected public key."
    try:
        Ed25519PublicKey.from_public_bytes(b58decode(values[keys[2]])).verify(signature, message)
    except Exception:  # noqa: BLE001
        return "Invalid wallet signature"
    payload = json.loads(message.decode("utf-8"))
    if base64.b64decode(payload["cert_pub"]) != spki:
        return "TLS client key does not match wallet-authorized cert_pub"
    if payload.get("model_id") != model_id:
        return "The model_id in the payload does not match the expected model_id."
    if payload.get("hotkey") != hotkey:
        return "Hotkey in the payload does not match the expected hotkey."
    return None


def channel(target, credentials, leaf_pem):
    def read(name):
        with open(os.path.join(credentials, name), "rb") as f:
            return f.read()
    creds = grpc.ssl_channel_credentials(
        root_certificates=leaf_pem, private_key=read("tls.key"), certificate_chain=read("tls.crt"))
    return grpc.secure_channel(target, creds, options=[
        ("grpc.ssl_target_name_override", TARGET), ("grpc.default_authority", TARGET)])


def main(argv):
    target, vectors = argv[1], argv[2]
    host, port = target.rsplit(":", 1)
    with open(os.path.join(vectors, "secure_mode.json")) as f:
        derived = json.load(f)
    wallet = derived["cruncher_wallet_pubkey_b58"]
    hotkey = derived["cruncher_hotkey"]
    model_id = derived["model_id"]
    results, mismatches = {}, []

    def expect(name, what, actual, expected):
        if actual != expected:
            mismatches.append("%s: %s is %r, expected %r" % (name, what, actual, expected))

    coordinator = os.path.join(vectors, "coordinator")
    leaf_pem, spki = probe(host, int(port), coordinator, coordinator)
    results["probe_spki_b64"] = base64.b64encode(spki).decode()
    expect("probe", "runner SPKI", results["probe_spki_b64"], derived["cruncher_spki_der_b64"])

    with channel(target, coordinator, leaf_pem) as main_channel:
        health = wire.health_pb2_grpc.HealthStub(main_channel)
        response, call = health.Check.with_call(wire.health_pb2.HealthCheckRequest(), timeout=TIMEOUT)
        results["health"] = {"status": wire.health_pb2.HealthCheckResponse.ServingStatus.Name(response.status),
                             "auth_error": verify(call.initial_metadata(), wallet, spki, model_id, hotkey)}
        expect("health", "status", results["health"]["status"], "SERVING")
        expect("health", "auth error", results["health"]["auth_error"], None)

        stub = wire.dynamic_subclass_pb2_grpc.DynamicSubclassServiceStub(main_channel)
        response, call = stub.Call.with_call(ds.CallRequest(methodName="predict"), timeout=TIMEOUT)
        results["call"] = {"code": response.status.code, "message": response.status.message,
                           "auth_error": verify(call.initial_metadata(), wallet, spki, model_id, hotkey),
                           "headers": sorted([k, v] for k, v in call.initial_metadata()
                                             if k.startswith("x-server-"))}
        expect("call", "status", response.status.code, "FAILED_PRECONDITION")
        expect("call", "auth error", results["call"]["auth_error"], None)
        expect("call", "headers", results["call"]["headers"], sorted(derived["server_response_headers"]))
        # A wrong expectation is caught by the same check (the client's wording).
        results["wrong_hotkey"] = verify(call.initial_metadata(), wallet, spki, model_id, "someone-else")
        expect("wrong_hotkey", "auth error", results["wrong_hotkey"],
               "Hotkey in the payload does not match the expected hotkey.")

    unregistered = os.path.join(vectors, "coordinator_unregistered")
    unregistered_pem, _ = probe(host, int(port), unregistered, coordinator)
    with channel(target, unregistered, unregistered_pem) as refused_channel:
        stub = wire.dynamic_subclass_pb2_grpc.DynamicSubclassServiceStub(refused_channel)
        future = stub.Call.future(ds.CallRequest(methodName="predict"), timeout=TIMEOUT)
        try:
            future.result()
            results["unregistered"] = {"code": "OK"}
        except grpc.RpcError as error:
            results["unregistered"] = {"code": error.code().name, "details": error.details(),
                                       "headers": list(future.initial_metadata() or [])}
        expect("unregistered", "code", results["unregistered"].get("code"), "UNAUTHENTICATED")
        expect("unregistered", "details", results["unregistered"].get("details"),
               "TLS certificate hash does not match registered certificate")
        expect("unregistered", "headers (trailers-only)", results["unregistered"].get("headers"), [])

    with grpc.insecure_channel(target) as plain:
        try:
            wire.health_pb2_grpc.HealthStub(plain).Check(wire.health_pb2.HealthCheckRequest(), timeout=5)
            results["plaintext"] = "OK"
        except grpc.RpcError as error:
            results["plaintext"] = error.code().name
        expect("plaintext", "code", results["plaintext"], "UNAVAILABLE")

    print(json.dumps({"ok": not mismatches, "mismatches": mismatches, "results": results}))
    return 0 if not mismatches else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
