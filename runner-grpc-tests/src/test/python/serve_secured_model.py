"""serve_model.py's runner behind the Python ecosystem's security, for our client to reach.

    python3 serve_secured_model.py secure CERTIFICATES_DIR COORDINATOR_CERT_HASH [CASES_JSON CASE]
    python3 serve_secured_model.py gateway CERTS_JSON TLS_CRT TLS_KEY

Written from PROTOCOL-SECURITY.md with python3-grpcio and python3-cryptography, as the Python runner
does it. Like serve_model.py it listens on a free port of 127.0.0.1 and prints the port on a line of its
own once it accepts calls, then serves until it is killed.

secure (section A.4): TLS with CERTIFICATES_DIR's tls.crt and tls.key, a client certificate required
and verified against its ca.crt; on every unary call the client certificate's SPKI SHA-256 must be
COORDINATOR_CERT_HASH (else UNAUTHENTICATED "TLS certificate hash does not match registered
certificate", trailers only), then the three x-server-* headers of cruncher_msg.json are sent before
the handler runs. With CASES_JSON and CASE, the headers are that case record's response_headers
instead (a runner whose identity does not verify).

gateway (section B.3, current version): every call but the health service needs the three
x-gateway-auth-* headers: an RSA key whose SPKI SHA-256 CERTS_JSON's cert_hashes lists, a valid
RSASSA-PKCS1-v1_5 SHA-256 signature, a timestamp within now - 30 s .. now + 5 s; else UNAUTHENTICATED
"Gateway authentication failed". The real runner is plaintext behind a TLS gateway; this one plays both
and serves TLS itself with TLS_CRT and TLS_KEY. After the port, it prints one line per call:
"<method> token" or "<method> none", so that a test sees what carried a token.
"""

import base64
import hashlib
import json
import os
import sys
import time
from concurrent import futures

sys.dont_write_bytecode = True

import serve_model  # noqa: E402
import wire  # noqa: E402
from wire import grpc  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402

HEALTH_METHODS = ("/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch")


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def spki_sha256(public_key):
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def wrap_unary(handler, behaviour):
    return grpc.unary_unary_rpc_method_handler(
        behaviour,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer)


class SecureInterceptor(grpc.ServerInterceptor):
    """The coordinator hash check, then the server identity headers, on unary-unary methods only."""

    def __init__(self, allowed_hash, identity):
        self.allowed_hash = allowed_hash
        self.identity = identity

    def intercept_service(self, continuation, details):
        handler = continuation(details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary

        def checked(request, context):
            pems = context.auth_context().get("x509_pem_cert")
            if not pems:
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "No client certificate (mTLS required)")
            certificate = x509.load_pem_x509_certificate(pems[0])
            if spki_sha256(certificate.public_key()) != self.allowed_hash:
                context.abort(grpc.StatusCode.UNAUTHENTICATED,
                              "TLS certificate hash does not match registered certificate")
            context.send_initial_metadata(self.identity)
            return inner(request, context)

        return wrap_unary(handler, checked)


class GatewayInterceptor(grpc.ServerInterceptor):
    """Gateway tokens on every method but health; rejections are UNAUTHENTICATED."""

    def __init__(self, allowed_hashes):
        self.allowed = {h.lower() for h in allowed_hashes}

    def reason(self, metadata):
        values = {}
        for key, value in metadata:
            values.setdefault(key.lower(), value)
        message = values.get("x-gateway-auth-message")
        signature = values.get("x-gateway-auth-signature")
        pubkey = values.get("x-gateway-auth-pubkey")
        if not message or not signature or not pubkey:
            return "missing metadata"
        message, signature, pubkey = (base64.b64decode(v) for v in (message, signature, pubkey))
        digest = hashlib.sha256(pubkey).hexdigest()
        if digest not in self.allowed:
            return "Public key hash %s not found in on-chain cert hashes" % digest
        key = serialization.load_der_public_key(pubkey)
        if not isinstance(key, rsa.RSAPublicKey):
            return "Expected RSA public key"
        try:
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return "Signature verification failed: "
        payload = json.loads(message)
        now = time.time()
        if payload["timestamp"] > now + 5:
            return "Token timestamp is in the future"
        if now - payload["timestamp"] > 30:
            return "Token expired"
        return None

    def intercept_service(self, continuation, details):
        metadata = details.invocation_metadata or ()
        carried = any(key.lower() == "x-gateway-auth-message" for key, _ in metadata)
        print("%s %s" % (details.method, "token" if carried else "none"), flush=True)
        if details.method in HEALTH_METHODS:
            return continuation(details)
        why = self.reason(metadata)
        if why is None:
            return continuation(details)
        sys.stderr.write("Gateway auth failed on %s: %s\n" % (details.method, why))

        def refuse(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "Gateway authentication failed")

        return grpc.unary_unary_rpc_method_handler(refuse)


def main(argv):
    if len(argv) >= 4 and argv[1] == "secure":
        directory, allowed = argv[2], argv[3]
        signed = json.loads(read(os.path.join(directory, "cruncher_msg.json")))
        identity = (("x-server-auth-message", signed["message_b64"]),
                    ("x-server-auth-signature", signed["signature_b64"]),
                    ("x-server-wallet-pubkey", signed["wallet_pubkey_b58"]))
        if len(argv) == 6:
            record = next(r for r in json.loads(read(argv[4])) if r["name"] == argv[5])
            identity = tuple((k, v) for k, v in record["inputs"]["response_headers"])
        interceptor = SecureInterceptor(allowed, identity)
        credentials = grpc.ssl_server_credentials(
            [(read(os.path.join(directory, "tls.key")), read(os.path.join(directory, "tls.crt")))],
            root_certificates=read(os.path.join(directory, "ca.crt")),
            require_client_auth=True)
    elif len(argv) == 5 and argv[1] == "gateway":
        interceptor = GatewayInterceptor(json.loads(read(argv[2]))["cert_hashes"])
        credentials = grpc.ssl_server_credentials([(read(argv[4]), read(argv[3]))])
    else:
        sys.stderr.write(__doc__)
        return 2
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), interceptors=(interceptor,),
                         options=wire.CHANNEL_OPTIONS)
    wire.dynamic_subclass_pb2_grpc.add_DynamicSubclassServiceServicer_to_server(serve_model.Runner(), server)
    wire.health_pb2_grpc.add_HealthServicer_to_server(serve_model.Health(), server)
    port = server.add_secure_port("127.0.0.1:0", credentials)
    if port == 0:
        sys.stderr.write("cannot bind 127.0.0.1\n")
        return 1
    server.start()
    print(port, flush=True)
    server.wait_for_termination()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
