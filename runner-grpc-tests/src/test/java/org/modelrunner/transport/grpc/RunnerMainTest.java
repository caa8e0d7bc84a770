package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.modelrunner.transport.grpc.RunnerClient.assertStatus;

import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The executable's options: command line, environment variables (the command line wins), checks
 * with a one-line error and exit code 2, and a whole run through {@link RunnerMain#execute} without
 * leaving the JVM.
 */
class RunnerMainTest {
  private static final int MIB_64 = 64 * 1024 * 1024;

  @TempDir static Path shared;
  static Path code;
  static Path apiJar;

  private final ExecutorService background = Executors.newCachedThreadPool();
  private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
  private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
  private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

  @BeforeAll
  static void compile() {
    apiJar = RunnerSources.baseApiJar("com.example.mainapi", shared.resolve("api.jar"));
    code =
        RunnerSources.create()
            .classPath(apiJar)
            .add(
                "com.example.main.Model",
                """
                package com.example.main;
                public class Model extends com.example.mainapi.Base {
                  public long value() { return 7; }
                  public String property(String name) { return System.getProperty(name); }
                  public boolean seesGrpc() {
                    try { Class.forName("io.grpc.Server"); return true; } catch (ClassNotFoundException e) { return false; }
                  }
                }
                """)
            .compileTo(shared.resolve("code"));
  }

  @AfterEach
  void stop() {
    background.shutdownNow();
    System.clearProperty(RunnerMain.RESOURCE_DIRECTORY_PROPERTY);
    System.clearProperty(RunnerMain.HAS_GPU_PROPERTY);
    System.clearProperty(RunnerMain.MODEL_ID_PROPERTY);
  }

  /** Parses a command line and environment as the executable does, its usage output dropped. */
  static RunnerMain.Options parse(Map<String, String> env, String... args)
      throws RunnerMain.UsageException {
    return RunnerMain.parse(
        args, env, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
  }

  private String err() {
    return errBytes.toString(StandardCharsets.UTF_8);
  }

  private String out() {
    return outBytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void theExecutableSetsItsPropertiesUnlessTheyAreSet() throws IOException {
    Properties empty = new Properties();
    RunnerMain.defaultProperties(empty);
    assertThat(empty)
        .containsEntry("java.util.logging.manager", RunnerLogManager.class.getName())
        .containsEntry(RunnerMain.NETTY_JFR_PROPERTY, "false");
    Properties chosen = new Properties();
    chosen.setProperty(RunnerMain.NETTY_JFR_PROPERTY, "true");
    chosen.setProperty("java.util.logging.manager", "com.example.Manager");
    RunnerMain.defaultProperties(chosen);
    assertThat(chosen)
        .containsEntry(RunnerMain.NETTY_JFR_PROPERTY, "true")
        .containsEntry("java.util.logging.manager", "com.example.Manager");
    // It is the name the shaded Netty reads (grpc-netty-shaded relocates Netty's own).
    try (InputStream in =
        io.grpc.netty.shaded.io.netty.util.internal.PlatformDependent.class.getResourceAsStream(
            "PlatformDependent.class")) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.ISO_8859_1))
          .contains(RunnerMain.NETTY_JFR_PROPERTY);
    }
  }

  @Test
  void defaults() throws Exception {
    RunnerMain.Options options = parse(Map.of(), "--code-directory", code.toString());
    assertThat(options.codeDirectory()).isEqualTo(code.toAbsolutePath().normalize());
    assertThat(options.address()).isEqualTo("[::]:50051");
    assertThat(options.logLevel()).isEqualTo(Level.INFO);
    assertThat(options.maxSendBytes()).isEqualTo(MIB_64);
    assertThat(options.maxReceiveBytes()).isEqualTo(MIB_64);
    assertThat(options.classPath()).isEmpty();
    assertThat(options.callTimeLimit()).isNull();
    assertThat(options.setupTimeLimit())
        .isEqualTo(Duration.ofMinutes(5))
        .isEqualTo(GrpcRunner.DEFAULT_SETUP_TIME_LIMIT);
    assertThat(options.shutdownGrace()).isEqualTo(Duration.ofSeconds(10));
    assertThat(options.resourceDirectory()).isEqualTo(Path.of("/workspace/resources"));
    assertThat(options.hasGpu()).isFalse();
    assertThat(options.modelId()).isNull();
    assertThat(options.mainFile()).isEqualTo("main.py");
  }

  @Test
  void thePythonRunnersEntrypointOptionsAreAccepted() throws Exception {
    // What the Python runner's container entrypoint passes.
    RunnerMain.Options options =
        parse(
            Map.of(),
            "--code-directory",
            code.toString(),
            "--resource-directory",
            "/data/resources",
            "--address",
            "127.0.0.1:7000",
            "--has-gpu",
            "--log-level",
            "info",
            "--main-file",
            "main.py",
            "--model-id",
            "42");
    assertThat(options.resourceDirectory()).isEqualTo(Path.of("/data/resources"));
    assertThat(options.hasGpu()).isTrue();
    assertThat(options.modelId()).isEqualTo("42");
    assertThat(parse(Map.of(), "--code-directory", code.toString(), "--has-gpu", "False").hasGpu())
        .isFalse();
    assertThat(parse(Map.of(), "--code-directory", code.toString(), "--has-gpu=yes").hasGpu())
        .isTrue();

    RunnerMain.Options fromEnv =
        parse(
            Map.of(
                "CODE_DIRECTORY",
                code.toString(),
                "RESOURCE_DIRECTORY",
                "/r",
                "HAS_GPU",
                "True",
                "MAIN_FILE",
                "model.py",
                "MODEL_ID",
                "m7"));
    assertThat(fromEnv.resourceDirectory()).isEqualTo(Path.of("/r"));
    assertThat(fromEnv.hasGpu()).isTrue();
    assertThat(fromEnv.mainFile()).isEqualTo("model.py");
    assertThat(fromEnv.modelId()).isEqualTo("m7");
    assertThat(parse(Map.of("CODE_DIRECTORY", code.toString(), "HAS_GPU", "0")).hasGpu()).isFalse();
  }

  @Test
  void withoutACodeDirectoryTheContainersIsUsedWhenItExists(@TempDir Path workspace)
      throws Exception {
    Path missing = workspace.resolve("submission/code");
    assertThatThrownBy(() -> RunnerMain.parse(new String[0], Map.of(), out, missing))
        .isInstanceOf(RunnerMain.UsageException.class)
        .hasMessageContaining("no code directory")
        .hasMessageContaining(missing.toString());
    RunnerMain.Options options = RunnerMain.parse(new String[0], Map.of(), out, code);
    assertThat(options.codeDirectory()).isEqualTo(code);
  }

  /** The runner environment of the vectors ({@code secure_mode.json}), over their folder. */
  private static Map<String, String> secureEnvironment() {
    Map<String, String> env = new HashMap<>();
    SecureVectors.json("secure_mode.json")
        .get("runner_env")
        .fields()
        .forEachRemaining(entry -> env.put(entry.getKey(), entry.getValue().asText()));
    env.put("CERTIFICATES_DIRECTORY", SecureVectors.file("cruncher").toString());
    env.put("CODE_DIRECTORY", code.toString());
    return env;
  }

  @Test
  void secureModeReadsThePythonRunnersVariables() throws Exception {
    Map<String, String> env = secureEnvironment();
    assertThat(env)
        .containsEntry("SECURE", "True")
        .containsEntry("COORDINATOR_CERT_HASH_SECONDARY", "");
    RunnerMain.Options options = parse(env);
    assertThat(options.secureMode()).isNotNull();
    assertThat(options.secureMode().certificatesDirectory())
        .isEqualTo(SecureVectors.file("cruncher").toAbsolutePath().normalize());
    assertThat(options.secureMode().isRegistered(env.get("COORDINATOR_CERT_HASH"))).isTrue();
    assertThat(options.secureMode().isRegistered("")).as("empty: unset").isFalse();
    assertThat(options.gatewayAuth()).isNull();
    // The same from the command line.
    RunnerMain.Options flags =
        parse(
            Map.of(),
            "--code-directory",
            code.toString(),
            "--secure",
            "--certificates-directory",
            env.get("CERTIFICATES_DIRECTORY"),
            "--model-id",
            env.get("MODEL_ID"),
            "--cruncher-wallet-pubkey",
            env.get("CRUNCHER_WALLET_PUBKEY"),
            "--cruncher-hotkey",
            env.get("CRUNCHER_HOTKEY"),
            "--coordinator-cert-hash",
            "0".repeat(64),
            "--coordinator-cert-hash-secondary",
            env.get("COORDINATOR_CERT_HASH"),
            "--coordinator-wallet-pubkey",
            env.get("COORDINATOR_WALLET_PUBKEY"),
            "--crunch-onchain-address",
            "anything");
    assertThat(flags.secureMode().isRegistered(env.get("COORDINATOR_CERT_HASH"))).isTrue();
  }

  @Test
  void secureModeRefusesToStartWhenAFileIsMissingOrItsMessageFails() throws Exception {
    Map<String, String> env = secureEnvironment();
    env.put("CERTIFICATES_DIRECTORY", shared.resolve("no-certificates").toString());
    assertThat(RunnerMain.execute(new String[0], env, out, err, null)).isEqualTo(2);
    assertThat(err())
        .startsWith("model-runner-grpc: secure mode: ")
        .contains("tls.crt is missing")
        .contains("the runner does not start");
    assertThat(err().lines()).hasSize(1);

    env = secureEnvironment();
    env.put("CRUNCHER_HOTKEY", "");
    errBytes.reset();
    assertThat(RunnerMain.execute(new String[0], env, out, err, null)).isEqualTo(2);
    assertThat(err())
        .contains("cruncher_msg.json fails verification")
        .contains("hotkey in payload does not match the expected hotkey");

    env = secureEnvironment();
    env.put("SECURE", "perhaps");
    errBytes.reset();
    assertThat(RunnerMain.execute(new String[0], env, out, err, null)).isEqualTo(2);
    assertThat(err())
        .contains("invalid --secure (SECURE)")
        .contains("'perhaps' is not a valid boolean");
  }

  @ParameterizedTest
  @ValueSource(strings = {"1", "true", "T", "yes", "Y", "on", "True"})
  void secureIsAClickBoolean(String value) throws Exception {
    Map<String, String> env = secureEnvironment();
    env.put("SECURE", value);
    assertThat(parse(env).secureMode()).isNotNull();
  }

  @Test
  void aSecureRunServesTlsOnly() throws Exception {
    Recording process = new Recording();
    Map<String, String> env = secureEnvironment();
    env.put("GRPC_ADDRESS", "127.0.0.1:0");
    env.put("LOG_LEVEL", "WARNING");
    Future<Integer> exit =
        background.submit(() -> RunnerMain.execute(new String[0], env, out, err, process));
    GrpcRunner runner = process.runner.get(20, TimeUnit.SECONDS);
    io.grpc.ManagedChannel channel = SecureVectors.coordinatorChannel(runner.port(), "coordinator");
    try (RunnerClient plaintext = new RunnerClient(runner)) {
      assertThat(
              io.grpc.health.v1.HealthGrpc.newBlockingStub(channel)
                  .withDeadlineAfter(20, TimeUnit.SECONDS)
                  .check(io.grpc.health.v1.HealthCheckRequest.getDefaultInstance())
                  .getStatus())
          .isEqualTo(ServingStatus.SERVING);
      assertThat(RunnerClient.grpcError(() -> plaintext.health("")).getCode())
          .isEqualTo(io.grpc.Status.Code.UNAVAILABLE);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    runner.shutdown(Duration.ofSeconds(3));
    assertThat(exit.get(20, TimeUnit.SECONDS)).isZero();
  }

  @Test
  void gatewayAuthenticationIsOnWhenItsCertFileIsSet() throws Exception {
    Map<String, String> env = new HashMap<>();
    env.put("CODE_DIRECTORY", code.toString());
    env.put("MODEL_ID", "model-42");
    env.put("GATEWAY_AUTH_CERT_FILE", SecureVectors.file("gateway/certs.json").toString());
    RunnerMain.Options options = parse(env);
    assertThat(options.gatewayAuth()).isNotNull();
    assertThat(options.gatewayAuth().requiredModelId()).isEqualTo("model-42");
    assertThat(options.secureMode()).isNull();
    env.put("GATEWAY_AUTH_CHECK_MODEL_ID", "false");
    assertThat(parse(env).gatewayAuth().requiredModelId()).isNull();
    env.put("GATEWAY_AUTH_CERT_FILE", "");
    assertThat(parse(env).gatewayAuth()).as("empty: unset").isNull();

    env.put("GATEWAY_AUTH_CERT_FILE", shared.resolve("no-certs.json").toString());
    assertThat(RunnerMain.execute(new String[0], env, out, err, null)).isEqualTo(2);
    assertThat(err())
        .startsWith("model-runner-grpc: gateway authentication: Cert file not found: ")
        .contains("the runner does not start");

    Map<String, String> both = secureEnvironment();
    both.put("GATEWAY_AUTH_CERT_FILE", SecureVectors.file("gateway/certs.json").toString());
    errBytes.reset();
    assertThat(RunnerMain.execute(new String[0], both, out, err, null)).isEqualTo(2);
    assertThat(err()).contains("not both");
  }

  @Test
  void plainTlsComesFromItsOptionsOrVariablesAndRefusesHalfAConfiguration() throws Exception {
    Path cruncher = SecureVectors.file("cruncher").toAbsolutePath().normalize();
    RunnerMain.Options options =
        parse(
            Map.of(
                "TLS_CERTIFICATE", cruncher.resolve("tls.crt").toString(),
                "TLS_KEY", cruncher.resolve("tls.key").toString()),
            "--code-directory",
            code.toString(),
            "--tls-client-ca",
            cruncher.resolve("ca.crt").toString());
    assertThat(options.tls().certificate()).isEqualTo(cruncher.resolve("tls.crt"));
    assertThat(options.tls().clientAuthority()).isEqualTo(cruncher.resolve("ca.crt"));
    assertThat(options.secureMode()).isNull();

    assertThatThrownBy(
            () ->
                parse(
                    Map.of(),
                    "--code-directory",
                    code.toString(),
                    "--tls-certificate",
                    cruncher.resolve("tls.crt").toString()))
        .isInstanceOf(RunnerMain.UsageException.class)
        .hasMessageContaining(
            "--tls-certificate (TLS_CERTIFICATE) and --tls-key (TLS_KEY) go together");
    assertThatThrownBy(
            () ->
                parse(
                    Map.of(),
                    "--code-directory",
                    code.toString(),
                    "--tls-certificate",
                    cruncher.resolve("tls.crt").toString(),
                    "--tls-key",
                    SecureVectors.file("coordinator/tls.key").toString()))
        .isInstanceOf(RunnerMain.UsageException.class)
        .hasMessageContaining("is not the key of the certificate");
    Map<String, String> env = secureEnvironment();
    env.put("TLS_CERTIFICATE", cruncher.resolve("tls.crt").toString());
    env.put("TLS_KEY", cruncher.resolve("tls.key").toString());
    assertThatThrownBy(() -> parse(env))
        .isInstanceOf(RunnerMain.UsageException.class)
        .hasMessageContaining("give secure mode (--secure, SECURE) or --tls-certificate, not both");
  }

  @Test
  void secureFalseIsPlainMode() throws Exception {
    assertThat(parse(Map.of("SECURE", "False"), "--code-directory", code.toString())).isNotNull();
    assertThat(parse(Map.of("SECURE", ""), "--code-directory", code.toString())).isNotNull();
  }

  @Test
  void everyOptionCanComeFromItsEnvironmentVariable() throws Exception {
    Map<String, String> env =
        Map.of(
            "CODE_DIRECTORY", code.toString(),
            "GRPC_ADDRESS", "127.0.0.1:6000",
            "LOG_LEVEL", "debug",
            "GRPC_MAX_SEND_MESSAGE_LENGTH", "1000",
            "GRPC_MAX_RECEIVE_MESSAGE_LENGTH", "-1",
            "HOST_CLASS_PATH", apiJar + File.pathSeparator + shared,
            "CALL_TIME_LIMIT", "2.5",
            "SETUP_TIME_LIMIT", "90",
            "SHUTDOWN_GRACE", "250ms");
    RunnerMain.Options options = parse(env);
    assertThat(options.codeDirectory()).isEqualTo(code.toAbsolutePath().normalize());
    assertThat(options.address()).isEqualTo("127.0.0.1:6000");
    assertThat(options.logLevel()).isEqualTo(Level.FINE);
    assertThat(options.maxSendBytes()).isEqualTo(1000);
    assertThat(options.maxReceiveBytes()).isEqualTo(Integer.MAX_VALUE);
    assertThat(options.classPath())
        .containsExactly(apiJar.toAbsolutePath().normalize(), shared.toAbsolutePath().normalize());
    assertThat(options.callTimeLimit()).isEqualTo(Duration.ofMillis(2500));
    assertThat(options.setupTimeLimit()).isEqualTo(Duration.ofSeconds(90));
    assertThat(options.shutdownGrace()).isEqualTo(Duration.ofMillis(250));
  }

  @Test
  void theCommandLineWinsOverTheEnvironmentAndEmptyVariablesAreUnset() throws Exception {
    Map<String, String> env = new HashMap<>();
    env.put("CODE_DIRECTORY", "/nowhere");
    env.put("GRPC_ADDRESS", "127.0.0.1:6000");
    env.put("LOG_LEVEL", "");
    env.put("GRPC_MAX_SEND_MESSAGE_LENGTH", "  ");
    env.put("HOST_CLASS_PATH", "/nowhere.jar");
    env.put("CALL_TIME_LIMIT", "5s");
    env.put("SETUP_TIME_LIMIT", "1h");
    RunnerMain.Options options =
        parse(
            env,
            "--code-directory",
            code.toString(),
            "--address=0.0.0.0:7000",
            "--class-path",
            apiJar.toString(),
            "--class-path",
            shared.toString(),
            "--call-time-limit",
            "0",
            "--setup-time-limit",
            "0",
            "--max-receive-message-length",
            "2048",
            "--shutdown-grace",
            "PT1M");
    assertThat(options.codeDirectory()).isEqualTo(code.toAbsolutePath().normalize());
    assertThat(options.address()).isEqualTo("0.0.0.0:7000");
    assertThat(options.logLevel()).isEqualTo(Level.INFO);
    assertThat(options.maxSendBytes()).isEqualTo(MIB_64);
    assertThat(options.maxReceiveBytes()).isEqualTo(2048);
    assertThat(options.classPath()).hasSize(2);
    assertThat(options.callTimeLimit()).isNull();
    assertThat(options.setupTimeLimit()).as("0: none").isNull();
    assertThat(options.shutdownGrace()).isEqualTo(Duration.ofMinutes(1));
  }

  @ParameterizedTest
  @CsvSource({
    "CRITICAL, SEVERE",
    "error, SEVERE",
    "WARNING, WARNING",
    "warn, WARNING",
    "Info, INFO",
    "DEBUG, FINE",
    "TRACE, FINEST",
    "FINER, FINER",
    "off, OFF"
  })
  void logLevelsArePythonsOrJavaUtilLoggings(String name, String level) throws Exception {
    assertThat(parse(Map.of(), "--code-directory", code.toString(), "--log-level", name).logLevel())
        .isEqualTo(Level.parse(level));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "--address|nowhere|invalid --address (GRPC_ADDRESS): 'nowhere' has no port (host:port)",
        "--address|[::]:99999|invalid --address (GRPC_ADDRESS): The port must be from 0 to 65535, got 99999",
        "--log-level|LOUD|invalid --log-level (LOG_LEVEL): 'LOUD' is not a log level",
        "--max-send-message-length|0|invalid --max-send-message-length (GRPC_MAX_SEND_MESSAGE_LENGTH): '0' must be a positive number of bytes, or -1 for no limit",
        "--max-receive-message-length|64MB|invalid --max-receive-message-length (GRPC_MAX_RECEIVE_MESSAGE_LENGTH): '64MB' is not a number of bytes",
        "--call-time-limit|soon|invalid --call-time-limit (CALL_TIME_LIMIT): 'soon' is not a duration",
        "--call-time-limit|-1s|invalid --call-time-limit (CALL_TIME_LIMIT): '-1s' is not a duration",
        "--setup-time-limit|forever|invalid --setup-time-limit (SETUP_TIME_LIMIT): 'forever' is not a duration",
        "--shutdown-grace|PT-1S|invalid --shutdown-grace (SHUTDOWN_GRACE): 'PT-1S' is negative",
        "--class-path|/no/such.jar|invalid --class-path (HOST_CLASS_PATH): /no/such.jar does not exist",
        "--metrics-port|70000|invalid --metrics-port (METRICS_PORT): 70000 is not a port from 0 to 65535",
        "--metrics-port|http|invalid --metrics-port (METRICS_PORT): 'http' is not a port",
      })
  void anInvalidOptionIsAOneLineUsageError(String option, String value, String message) {
    int code =
        RunnerMain.execute(
            new String[] {"--code-directory", RunnerMainTest.code.toString(), option, value},
            Map.of(),
            out,
            err,
            null);
    assertThat(code).isEqualTo(2);
    assertThat(err()).startsWith("model-runner-grpc: " + message).endsWith(System.lineSeparator());
    assertThat(err().lines()).hasSize(1);
  }

  @Test
  void aMissingCodeDirectoryIsAClearOneLineError() {
    assertThat(RunnerMain.execute(new String[0], Map.of("CODE_DIRECTORY", " "), out, err, null))
        .isEqualTo(2);
    assertThat(err())
        .isEqualTo(
            "model-runner-grpc: no code directory: give --code-directory or set CODE_DIRECTORY (and "
                + RunnerMain.DEFAULT_CODE_DIRECTORY
                + " does not exist)"
                + System.lineSeparator());
  }

  @Test
  void aCodeDirectoryThatDoesNotExistIsAClearOneLineError(@TempDir Path dir) {
    Path missing = dir.resolve("missing");
    assertThat(
            RunnerMain.execute(
                new String[] {"--code-directory", missing.toString()}, Map.of(), out, err, null))
        .isEqualTo(2);
    assertThat(err())
        .isEqualTo(
            "model-runner-grpc: the code directory "
                + missing
                + " does not exist"
                + System.lineSeparator());
  }

  @Test
  void anEmptyCodeDirectoryIsAClearOneLineError(@TempDir Path dir) throws IOException {
    Files.createDirectories(dir.resolve("sub"));
    Files.writeString(dir.resolve("sub/README.txt"), "nothing to run");
    assertThat(
            RunnerMain.execute(
                new String[0], Map.of("CODE_DIRECTORY", dir.toString()), out, err, null))
        .isEqualTo(2);
    assertThat(err())
        .isEqualTo(
            "model-runner-grpc: the code directory "
                + dir
                + " is empty: it holds no jar and no class file"
                + System.lineSeparator());
  }

  @Test
  void aJarThatIsNotAZipStopsTheRunnerWithAMessageThatNamesItAndTheCause(@TempDir Path dir)
      throws IOException {
    Files.createDirectories(dir.resolve("lib"));
    Files.writeString(dir.resolve("lib/model.jar"), "not a zip file");
    Recording process = new Recording();
    assertThat(
            RunnerMain.execute(
                new String[] {"--address", "127.0.0.1:0"},
                Map.of("CODE_DIRECTORY", dir.toString()),
                out,
                err,
                process))
        .isEqualTo(2);
    assertThat(err())
        .isEqualTo(
            "model-runner-grpc: cannot open the code directory "
                + dir
                + ": The jar lib/model.jar in the submission "
                + dir
                + " cannot be read as a jar: zip END header not found (ZipException)"
                + System.lineSeparator());
    assertThat(process.runner).isNotDone();
  }

  @Test
  void anUnknownOptionIsAOneLineUsageError() {
    assertThat(RunnerMain.execute(new String[] {"--bogus"}, Map.of(), out, err, null)).isEqualTo(2);
    assertThat(err())
        .isEqualTo(
            "model-runner-grpc: Unknown option: '--bogus' (see --help)" + System.lineSeparator());
  }

  @Test
  void helpListsEveryOptionAndItsVariable() {
    assertThat(RunnerMain.execute(new String[] {"--help"}, Map.of(), out, err, null)).isZero();
    assertThat(err()).isEmpty();
    for (Map.Entry<String, String> option : RunnerMain.ENVIRONMENT.entrySet()) {
      assertThat(out()).contains(option.getKey()).contains(option.getValue());
    }
  }

  @Test
  void aPortInUseExitsWithOne() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      Recording process = new Recording();
      int exit =
          RunnerMain.execute(
              new String[] {
                "--code-directory",
                code.toString(),
                "--address",
                "127.0.0.1:" + taken.getLocalPort()
              },
              Map.of(),
              out,
              err,
              process);
      assertThat(exit).isEqualTo(1);
      assertThat(err())
          .startsWith(
              "model-runner-grpc: cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": ");
      assertThat(err().lines()).hasSize(1);
      assertThat(process.runner).isNotDone();
    }
  }

  @Test
  void aRunServesTheCodeDirectoryWithTheHostClassPathOnlyUntilStopped() throws Exception {
    Recording process = new Recording();
    Future<Integer> exit =
        background.submit(
            () ->
                RunnerMain.execute(
                    new String[] {"--address", "127.0.0.1:0", "--log-level", "WARNING"},
                    Map.of(
                        "CODE_DIRECTORY",
                        code.toString(),
                        "HOST_CLASS_PATH",
                        apiJar.toString(),
                        "SHUTDOWN_GRACE",
                        "3s",
                        "RESOURCE_DIRECTORY",
                        "/models/resources",
                        "HAS_GPU",
                        "1"),
                    out,
                    err,
                    process));
    GrpcRunner runner = process.runner.get(20, TimeUnit.SECONDS);
    assertThat(process.level).isEqualTo(Level.WARNING);
    assertThat(process.grace).isEqualTo(Duration.ofSeconds(3));
    try (RunnerClient client = new RunnerClient(runner)) {
      assertThat(client.health("")).isEqualTo(ServingStatus.SERVING);
      assertStatus(
          client.setup("com.example.mainapi.Base").getStatus(),
          "SUCCESS",
          "Instance created successfully");
      assertThat(Protos.fromProto(client.call("value").getMethodResponse()).asLong()).isEqualTo(7);
      // The executable's submissions do not see the runner's own dependencies.
      assertThat(Protos.fromProto(client.call("seesGrpc").getMethodResponse()).asLong()).isZero();
      // The model is told its resource folder and whether it has a GPU.
      assertThat(
              Protos.fromProto(
                      client
                          .call(
                              "property",
                              org.modelrunner.spi.Variant.ofString(
                                  RunnerMain.RESOURCE_DIRECTORY_PROPERTY))
                          .getMethodResponse())
                  .asString())
          .isEqualTo(Path.of("/models/resources").toString());
      assertThat(
              Protos.fromProto(
                      client
                          .call(
                              "property",
                              org.modelrunner.spi.Variant.ofString(RunnerMain.HAS_GPU_PROPERTY))
                          .getMethodResponse())
                  .asString())
          .isEqualTo("true");
    }
    assertThat(exit).isNotDone();
    runner.shutdown(Duration.ofSeconds(3));
    assertThat(exit.get(20, TimeUnit.SECONDS)).isZero();
    assertThat(err()).isEmpty();
  }

  @Test
  void durationsAndSizes() {
    assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(Durations.parse("1.5")).isEqualTo(Duration.ofMillis(1500));
    assertThat(Durations.parse("2 s")).isEqualTo(Duration.ofSeconds(2));
    assertThat(Durations.parse("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Durations.parse("1H")).isEqualTo(Duration.ofHours(1));
    assertThat(Durations.parse("pt0.1s")).isEqualTo(Duration.ofMillis(100));
    assertThat(Durations.parse(".5")).isEqualTo(Duration.ofMillis(500));
    assertThatThrownBy(() -> Durations.parse("")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Durations.parse("5d")).isInstanceOf(IllegalArgumentException.class);
    assertThat(Durations.describe(Duration.ofMillis(250))).isEqualTo("250 ms");
    assertThat(Durations.describe(Duration.ofMillis(2500))).isEqualTo("2.5 s");
    assertThat(Durations.describe(Duration.ofSeconds(10))).isEqualTo("10 s");
    assertThat(Durations.describe(Duration.ofMinutes(5))).isEqualTo("5 min");
    assertThat(Sizes.parse("67108864")).isEqualTo(MIB_64);
    assertThat(Sizes.parse("-1")).isEqualTo(Integer.MAX_VALUE);
    assertThatThrownBy(() -> Sizes.parse("-2")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Sizes.parse("4294967296"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(Sizes.describe(MIB_64)).isEqualTo("64 MiB");
    assertThat(Sizes.describe(1536)).isEqualTo("1536 bytes");
    assertThat(Sizes.describe(2048)).isEqualTo("2 KiB");
    assertThat(Sizes.describe(Integer.MAX_VALUE)).isEqualTo("unlimited");
  }

  @ParameterizedTest
  @ValueSource(strings = {"SEVERE", "WARNING", "INFO", "FINE", "FINEST"})
  void theLogFormatIsOneLinePerRecord(String levelName) {
    java.util.logging.LogRecord record =
        new java.util.logging.LogRecord(Level.parse(levelName), "Serving {0}");
    record.setParameters(new Object[] {"x"});
    record.setLoggerName(GrpcRunner.class.getName());
    String line = new RunnerLogging.OneLineFormatter(true).format(record);
    assertThat(line)
        .matches(
            "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3} [A-Z]+ +GrpcRunner: Serving x\\R");
  }

  @Test
  void whatAPeerSentCannotStartALineOfItsOwnInTheLog() {
    String forged = "a.b\r\n2026-01-01 00:00:00.000 SEVERE  RunnerMain: FORGED LINE";
    java.util.logging.LogRecord record =
        new java.util.logging.LogRecord(Level.INFO, "Setup {0}: SUCCESS");
    record.setParameters(new Object[] {forged + "\u001b[2J\u0000\u2028\tend"});
    record.setLoggerName(GrpcRunner.class.getName());
    String line = new RunnerLogging.OneLineFormatter(true).format(record);
    assertThat(line.lines()).hasSize(1);
    assertThat(line)
        .endsWith(
            "GrpcRunner: Setup a.b\\r\\n2026-01-01 00:00:00.000 SEVERE  RunnerMain: FORGED LINE"
                + "\\u001b[2J\\u0000\\u2028\tend: SUCCESS"
                + System.lineSeparator());

    // A transport's throwable shown on the line is escaped likewise.
    java.util.logging.LogRecord failed =
        new java.util.logging.LogRecord(Level.INFO, "Transport failed");
    failed.setLoggerName("io.grpc.netty.shaded.io.grpc.netty.NettyServerTransport.connections");
    failed.setThrown(new IllegalStateException(forged));
    String brief = new RunnerLogging.OneLineFormatter(true).format(failed);
    assertThat(brief.lines()).hasSize(1);
    assertThat(brief).contains("a.b\\r\\n2026-01-01");
  }

  @Test
  void aPeerCannotFloodTheLogThroughGrpcsRecords() {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    java.util.concurrent.atomic.AtomicLong clock = new java.util.concurrent.atomic.AtomicLong();
    RunnerLogging.StreamHandler handler =
        new RunnerLogging.StreamHandler(
            new java.io.PrintStream(bytes, true, StandardCharsets.UTF_8), clock::get);
    handler.setFormatter(new RunnerLogging.OneLineFormatter(true));
    String handlerLogger = "io.grpc.netty.shaded.io.grpc.netty.NettyServerHandler";
    java.util.function.BiFunction<Level, String, java.util.logging.LogRecord> record =
        (level, logger) -> {
          java.util.logging.LogRecord r = new java.util.logging.LogRecord(level, "Stream Error");
          r.setLoggerName(logger);
          return r;
        };
    int limit = RunnerLogging.StreamHandler.TRANSPORT_RECORDS_PER_MINUTE;
    for (int i = 0; i < limit + 5; i++) {
      handler.publish(record.apply(Level.WARNING, handlerLogger));
    }
    // The runner's own records, and gRPC's errors, are always written.
    handler.publish(record.apply(Level.WARNING, GrpcRunner.class.getName()));
    handler.publish(record.apply(Level.SEVERE, handlerLogger));
    List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
    assertThat(lines).hasSize(limit + 2);
    assertThat(lines.get(limit)).contains("GrpcRunner: Stream Error");
    assertThat(lines.get(limit + 1)).contains("ERROR").contains("NettyServerHandler");

    // A minute later the next is written, after a line that says how many were left out.
    clock.addAndGet(TimeUnit.SECONDS.toNanos(59));
    handler.publish(record.apply(Level.INFO, handlerLogger));
    assertThat(bytes.toString(StandardCharsets.UTF_8).lines()).hasSize(limit + 2);
    clock.addAndGet(TimeUnit.SECONDS.toNanos(1));
    handler.publish(record.apply(Level.INFO, handlerLogger));
    lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
    assertThat(lines).hasSize(limit + 4);
    assertThat(lines.get(limit + 2))
        .contains(
            "RunnerLogging: 6 more records of gRPC's and Netty's were not logged (at most "
                + limit
                + " a minute below ERROR; --log-level DEBUG logs them all)");
    assertThat(lines.get(limit + 3)).contains("NettyServerHandler: Stream Error");

    // At DEBUG (no clock) every record is written.
    bytes.reset();
    RunnerLogging.StreamHandler all =
        new RunnerLogging.StreamHandler(
            new java.io.PrintStream(bytes, true, StandardCharsets.UTF_8), null);
    all.setFormatter(new RunnerLogging.OneLineFormatter(false));
    for (int i = 0; i < limit + 5; i++) {
      all.publish(record.apply(Level.WARNING, handlerLogger));
    }
    assertThat(bytes.toString(StandardCharsets.UTF_8).lines()).hasSize(limit + 5);
  }

  @Test
  void aTransportRecordWithAThrowableIsOneLineUnlessTheRunnerLogsAtDebug() {
    // What grpc-java logs when a peer connects without speaking HTTP/2 (the client's TLS probe).
    String connections = "io.grpc.netty.shaded.io.grpc.netty.NettyServerTransport.connections";
    IllegalStateException preface =
        new IllegalStateException(
            "HTTP/2 client preface string missing or corrupt. Hex dump for received bytes: "
                + "16030105a4010005a00303");
    java.util.logging.LogRecord failed =
        new java.util.logging.LogRecord(Level.INFO, "Transport failed");
    failed.setLoggerName(connections);
    failed.setThrown(preface);

    String brief = new RunnerLogging.OneLineFormatter(true).format(failed);
    assertThat(brief.lines()).hasSize(1);
    assertThat(brief)
        .contains(
            connections + ": Transport failed (java.lang.IllegalStateException: HTTP/2 client")
        .endsWith("16030105a4010005a00303)" + System.lineSeparator());

    // So is a warning gRPC logs for a stream (what it logs when a client's message is over the
    // limit, say).
    failed.setLevel(Level.WARNING);
    assertThat(new RunnerLogging.OneLineFormatter(true).format(failed).lines()).hasSize(1);

    // At DEBUG the runner shows the stack trace; so it does for errors, and for its own records.
    assertThat(new RunnerLogging.OneLineFormatter(false).format(failed).lines().count())
        .isGreaterThan(1);
    failed.setLevel(Level.SEVERE);
    assertThat(new RunnerLogging.OneLineFormatter(true).format(failed).lines().count())
        .isGreaterThan(1);
    java.util.logging.LogRecord own = new java.util.logging.LogRecord(Level.INFO, "Setup failed");
    own.setLoggerName(GrpcRunner.class.getName());
    own.setThrown(preface);
    assertThat(new RunnerLogging.OneLineFormatter(true).format(own).lines().count())
        .isGreaterThan(1);
  }

  /** Records what {@link RunnerMain#execute} does to its process. */
  static final class Recording implements RunnerMain.RunnerProcess {
    final CompletableFuture<GrpcRunner> runner = new CompletableFuture<>();
    volatile Level level;
    volatile Duration grace;

    @Override
    public void configureLogging(Level level) {
      this.level = level;
    }

    @Override
    public void started(GrpcRunner runner, Duration shutdownGrace) {
      this.grace = shutdownGrace;
      this.runner.complete(runner);
    }
  }
}
