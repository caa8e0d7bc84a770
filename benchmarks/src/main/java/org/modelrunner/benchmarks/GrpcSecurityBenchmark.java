package org.modelrunner.benchmarks;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.modelrunner.loader.HostedModel;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportProvider;
import org.modelrunner.spi.TransportSettings;
import org.modelrunner.transport.grpc.GatewayAuth;
import org.modelrunner.transport.grpc.GatewayCredentials;
import org.modelrunner.transport.grpc.GrpcRunner;
import org.modelrunner.transport.grpc.GrpcTransportProvider;
import org.modelrunner.transport.grpc.SecureCredentials;
import org.modelrunner.transport.grpc.SecureMode;

/**
 * What security costs on loopback, client and runner in this JVM: for each mode (plaintext, plain
 * TLS, gateway authentication over TLS, the Python ecosystem's secure mode), the time from a new
 * transport to the first call's answer (connection, TLS handshakes and probe, setup, one call), and
 * the steady cost of a call: its round trip and the process CPU it takes (client and runner
 * together).
 *
 * <p>Run from the project's root (secure mode uses the vectors of {@code ../shared/vectors/secure};
 * {@code -Dvectors=} names another folder; plain TLS and gateway certificates are made with {@code
 * openssl}): {@code java -cp benchmarks/target/model-runner-benchmarks.jar
 * org.modelrunner.benchmarks.GrpcSecurityBenchmark}. System properties: {@code -Dmodes=} (default
 * {@code plaintext,tls,gateway,secure}), {@code -Dconnects=} first calls measured (default 30),
 * {@code -Dcalls=} steady calls (default 20000), {@code -Dpasses=} (default 2: the first warms
 * every mode up, the last is printed).
 */
public final class GrpcSecurityBenchmark {
  private static final Duration TIMEOUT = Duration.ofSeconds(20);
  private static final String MODEL = "model-42";

  private GrpcSecurityBenchmark() {}

  /** One mode: its runner and the provider of its client transports. */
  private record Mode(String name, GrpcRunner runner, TransportProvider client) {}

  /** Runs the measurements and prints one line per mode. */
  public static void main(String[] args) throws Exception {
    java.util.logging.Logger.getLogger("").setLevel(java.util.logging.Level.WARNING);
    Path vectors = Path.of(System.getProperty("vectors", "../shared/vectors/secure"));
    int connects = Integer.getInteger("connects", 30);
    int calls = Integer.getInteger("calls", 20_000);
    List<String> modes =
        List.of(System.getProperty("modes", "plaintext,tls,gateway,secure").split(","));
    Path certificates = WorkDirectory.create("modelrunner-security-benchmark");
    System.out.printf(
        Locale.ROOT,
        "gRPC security on loopback (%d cores, Java %s); %d first calls, %d steady calls per mode%n",
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"),
        connects,
        calls);
    int passes = Math.max(1, Integer.getInteger("passes", 2));
    for (int pass = 1; pass <= passes; pass++) {
      // Every pass but the last warms the JIT up for every mode: only the last is printed.
      for (String name : modes) {
        Mode mode = mode(name.strip(), vectors, certificates);
        try (GrpcRunner runner = mode.runner()) {
          measure(mode, connects, calls, pass == passes);
        }
      }
    }
  }

  private static GrpcRunner.Builder runner() {
    return GrpcRunner.builder()
        .model(HostedModel.forImplementation(InstantModel.class))
        .host("127.0.0.1")
        .port(0);
  }

  private static Mode mode(String name, Path vectors, Path certificates) throws Exception {
    switch (name) {
      case "plaintext" -> {
        return new Mode(name, runner().build().start(), new GrpcTransportProvider());
      }
      case "tls" -> {
        makeCertificates(certificates);
        return new Mode(
            name,
            runner()
                .tls(certificates.resolve("tls.crt"), certificates.resolve("tls.key"))
                .build()
                .start(),
            GrpcTransportProvider.builder()
                .trustedCertificates(certificates.resolve("ca.crt"))
                .build());
      }
      case "gateway" -> {
        makeCertificates(certificates);
        return new Mode(
            name,
            runner()
                .tls(certificates.resolve("tls.crt"), certificates.resolve("tls.key"))
                .gatewayAuth(
                    GatewayAuth.builder()
                        .certFile(vectors.resolve("gateway/certs.json"))
                        .modelId(MODEL)
                        .build())
                .build()
                .start(),
            GrpcTransportProvider.builder()
                .gatewayCredentials(
                    GatewayCredentials.fromKeyFile(vectors.resolve("gateway/coordinator_rsa.key")))
                .trustedCertificates(certificates.resolve("ca.crt"))
                .build());
      }
      case "secure" -> {
        return new Mode(
            name,
            runner()
                .secureMode(
                    SecureMode.builder()
                        .certificatesDirectory(vectors.resolve("cruncher"))
                        .modelId(MODEL)
                        .cruncherWalletPubkey("EQyEkxLVeXfyhdoKMfRACvPBzMNfvHKwKoQSkXkGw1kq")
                        .cruncherHotkey("HVovGtn9fFX4Uvvru6YwXHnSnxjkbtQbrF4T4YYS4UYD")
                        .coordinatorCertHash(
                            "9367e8c5ed72b2b422326e3b57198b4808460130b0fcdb3db4ede37e90fdad6a")
                        .build())
                .build()
                .start(),
            GrpcTransportProvider.builder()
                .secureCredentials(SecureCredentials.fromDirectory(vectors.resolve("coordinator")))
                .build());
      }
      default -> throw new IllegalArgumentException("Unknown mode " + name);
    }
  }

  private static ModelEndpoint endpoint(URI address) {
    return new ModelEndpoint(
        MODEL,
        MODEL,
        address,
        Map.of(
            "cruncher_wallet_pubkey", "EQyEkxLVeXfyhdoKMfRACvPBzMNfvHKwKoQSkXkGw1kq",
            "cruncher_hotkey", "HVovGtn9fFX4Uvvru6YwXHnSnxjkbtQbrF4T4YYS4UYD"));
  }

  private static void measure(Mode mode, int connects, int calls, boolean print) throws Exception {
    ModelEndpoint endpoint = endpoint(mode.runner().endpoint());
    Histogram first = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
    for (int i = 0; i < connects + 3; i++) { // the first 3 warm up
      long start = System.nanoTime();
      try (ModelTransport transport = mode.client().create(TransportSettings.defaults());
          ModelConnection connection = transport.connect(endpoint)) {
        require(connection.setup(BenchBase.class.getName(), Arguments.none(), TIMEOUT).get());
        require(connection.call(transport.prepare("predict", Arguments.none()), TIMEOUT).get());
        if (i >= 3) {
          first.recordValue(System.nanoTime() - start);
        }
      }
    }
    var os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    Histogram roundTrip = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
    double cpuMicros;
    try (ModelTransport transport = mode.client().create(TransportSettings.defaults());
        ModelConnection connection = transport.connect(endpoint)) {
      require(connection.setup(BenchBase.class.getName(), Arguments.none(), TIMEOUT).get());
      PreparedCall predict = transport.prepare("predict", Arguments.none());
      for (int i = 0; i < calls / 4; i++) {
        require(connection.call(predict, TIMEOUT).get());
      }
      long cpu = os.getProcessCpuTime();
      for (int i = 0; i < calls; i++) {
        long start = System.nanoTime();
        require(connection.call(predict, TIMEOUT).get());
        roundTrip.recordValue(System.nanoTime() - start);
      }
      cpuMicros = (os.getProcessCpuTime() - cpu) / 1e3 / calls;
    }
    if (!print) {
      return;
    }
    System.out.printf(
        Locale.ROOT,
        "%-9s first call (new transport, handshakes, setup, call): p50 %.1f ms, max %.1f ms;"
            + " steady call: round trip p50 %.1f µs, p99 %.1f µs, CPU %.1f µs per call%n",
        mode.name(),
        first.getValueAtPercentile(50) / 1e6,
        first.getMaxValue() / 1e6,
        roundTrip.getValueAtPercentile(50) / 1e3,
        roundTrip.getValueAtPercentile(99) / 1e3,
        cpuMicros);
  }

  private static void require(Reply reply) {
    if (!reply.status().isSuccess()) {
      throw new IllegalStateException("A request failed: " + reply);
    }
  }

  /** An authority and a certificate for 127.0.0.1, made with openssl once. */
  private static void makeCertificates(Path dir) throws IOException, InterruptedException {
    if (Files.exists(dir.resolve("tls.crt"))) {
      return;
    }
    Files.writeString(dir.resolve("runner.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    List<List<String>> commands = new ArrayList<>();
    commands.add(
        List.of(
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=benchmark authority"));
    commands.add(
        List.of(
            "openssl",
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "tls.key",
            "-out",
            "tls.csr",
            "-subj",
            "/CN=runner"));
    commands.add(
        List.of(
            "openssl",
            "x509",
            "-req",
            "-in",
            "tls.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "runner.ext",
            "-out",
            "tls.crt"));
    for (List<String> command : commands) {
      Process process =
          new ProcessBuilder(command)
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IllegalStateException("openssl failed: " + command);
      }
    }
  }
}
