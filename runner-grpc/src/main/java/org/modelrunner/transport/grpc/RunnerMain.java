package org.modelrunner.transport.grpc;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.MissingArgumentException;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.ParseException;
import org.apache.commons.cli.UnrecognizedOptionException;

/**
 * The runner as a program: {@code java -jar model-runner-grpc-runner.jar --code-directory
 * <submission>} serves one submission with a {@link GrpcRunner} until the process is stopped.
 *
 * <p>Every option can also be given by the environment variable the Python runner reads (or, for
 * the options it does not have, the one named below); a command-line option wins over its variable,
 * and an empty variable counts as unset:
 *
 * <table>
 *   <caption>Options</caption>
 *   <tr><th>option</th><th>variable</th><th>default</th></tr>
 *   <tr><td>{@code --code-directory}</td><td>{@code CODE_DIRECTORY}</td><td>{@code /workspace/submission/code}
 *       if that folder exists; required otherwise</td></tr>
 *   <tr><td>{@code --resource-directory}</td><td>{@code RESOURCE_DIRECTORY}</td><td>{@code /workspace/resources}</td></tr>
 *   <tr><td>{@code --has-gpu}</td><td>{@code HAS_GPU}</td><td>false</td></tr>
 *   <tr><td>{@code --model-id}</td><td>{@code MODEL_ID}</td><td>none (logging; the id secure mode and gateway tokens must name)</td></tr>
 *   <tr><td>{@code --main-file}</td><td>{@code MAIN_FILE}</td><td>{@code main.py} (accepted, ignored: Python only)</td></tr>
 *   <tr><td>{@code --address}</td><td>{@code GRPC_ADDRESS}</td><td>{@code [::]:50051}</td></tr>
 *   <tr><td>{@code --log-level}</td><td>{@code LOG_LEVEL}</td><td>{@code INFO}</td></tr>
 *   <tr><td>{@code --max-send-message-length}</td><td>{@code GRPC_MAX_SEND_MESSAGE_LENGTH}</td><td>64 MiB</td></tr>
 *   <tr><td>{@code --max-receive-message-length}</td><td>{@code GRPC_MAX_RECEIVE_MESSAGE_LENGTH}</td><td>64 MiB</td></tr>
 *   <tr><td>{@code --class-path}</td><td>{@code HOST_CLASS_PATH}</td><td>none</td></tr>
 *   <tr><td>{@code --call-time-limit}</td><td>{@code CALL_TIME_LIMIT}</td><td>none</td></tr>
 *   <tr><td>{@code --setup-time-limit}</td><td>{@code SETUP_TIME_LIMIT}</td><td>5 min</td></tr>
 *   <tr><td>{@code --shutdown-grace}</td><td>{@code SHUTDOWN_GRACE}</td><td>10 s</td></tr>
 *   <tr><td>{@code --secure}</td><td>{@code SECURE}</td><td>false</td></tr>
 *   <tr><td>{@code --certificates-directory}</td><td>{@code CERTIFICATES_DIRECTORY}</td><td>{@code /workspace/certificates}</td></tr>
 *   <tr><td>{@code --cruncher-wallet-pubkey}</td><td>{@code CRUNCHER_WALLET_PUBKEY}</td><td>none</td></tr>
 *   <tr><td>{@code --cruncher-hotkey}</td><td>{@code CRUNCHER_HOTKEY}</td><td>none</td></tr>
 *   <tr><td>{@code --coordinator-cert-hash}</td><td>{@code COORDINATOR_CERT_HASH}</td><td>none</td></tr>
 *   <tr><td>{@code --coordinator-cert-hash-secondary}</td><td>{@code COORDINATOR_CERT_HASH_SECONDARY}</td><td>none</td></tr>
 *   <tr><td>{@code --coordinator-wallet-pubkey}</td><td>{@code COORDINATOR_WALLET_PUBKEY}</td><td>none (accepted, unused)</td></tr>
 *   <tr><td>{@code --crunch-onchain-address}</td><td>{@code CRUNCH_ONCHAIN_ADDRESS}</td><td>none (accepted, unused)</td></tr>
 *   <tr><td>{@code --gateway-auth-cert-file}</td><td>{@code GATEWAY_AUTH_CERT_FILE}</td><td>none (gateway authentication off)</td></tr>
 *   <tr><td>{@code --gateway-auth-check-model-id}</td><td>{@code GATEWAY_AUTH_CHECK_MODEL_ID}</td><td>true</td></tr>
 *   <tr><td>{@code --tls-certificate}</td><td>{@code TLS_CERTIFICATE}</td><td>none (plaintext)</td></tr>
 *   <tr><td>{@code --tls-key}</td><td>{@code TLS_KEY}</td><td>none</td></tr>
 *   <tr><td>{@code --tls-client-ca}</td><td>{@code TLS_CLIENT_CA}</td><td>none (no client certificate asked for)</td></tr>
 *   <tr><td>{@code --metrics-port}</td><td>{@code METRICS_PORT}</td><td>none (no metrics served)</td></tr>
 *   <tr><td>{@code --metrics-host}</td><td>{@code METRICS_HOST}</td><td>the host of {@code --address}</td></tr>
 * </table>
 *
 * <p>With a metrics port, the runner's meters ({@code modelrunner.runner.*}, see {@code
 * RunnerMetrics}) and the JVM's are served as Prometheus text on {@code http://host:port/metrics},
 * by the JDK's HTTP server. They listen on the runner's own host unless {@code --metrics-host} says
 * otherwise: in a container the runner listens on every interface and so do its metrics, which a
 * scraper outside the container must reach; a runner kept to loopback keeps its metrics there too.
 * The endpoint is plain HTTP without authentication, also in secure mode, and shows counts and
 * durations only (no arguments, results or errors).
 *
 * <p>The model sees the runner's settings as system properties, set before it is loaded: {@value
 * #RESOURCE_DIRECTORY_PROPERTY} (its resource folder, such as weights), {@value #HAS_GPU_PROPERTY}
 * ({@code true} or {@code false}) and, when given, {@value #MODEL_ID_PROPERTY}.
 *
 * <p>Secure mode ({@code --secure}, {@link SecureMode}) and gateway authentication ({@code
 * GATEWAY_AUTH_CERT_FILE}, {@link GatewayAuth}) are the Python ecosystem's. A runner asked for
 * either never serves without it: a missing file, a {@code cruncher_msg.json} that fails
 * verification or an empty cert file stops it before it listens, with exit code 2.
 *
 * <p>Exit codes: 0 after a stop, 1 when the address (or the metrics port) cannot be bound, 2 for a
 * usage error (a missing or empty code directory, a jar in it that cannot be read as one, an
 * invalid option, security files that are missing or fail their checks), each with one line on
 * standard error. {@code SIGTERM} (or {@code SIGINT}) stops gracefully: health turns {@code
 * NOT_SERVING}, new requests are refused, the request in flight has the grace period to finish. So
 * does a call of {@code System.exit} (by model code, say), whose caller is logged. A JVM still
 * shutting down 5 s after the grace period (a model's shutdown hook that never returns, say) is
 * halted with status 1. Logs go to standard error through {@code java.util.logging}.
 */
public final class RunnerMain {
  static final String NAME = "model-runner-grpc";

  /**
   * grpc-netty-shaded's name of Netty's {@code io.netty.jfr.enabled}: whether its buffer pool emits
   * Flight Recorder events. The executable turns it off unless it is set.
   */
  static final String NETTY_JFR_PROPERTY = "io.grpc.netty.shaded.io.netty.jfr.enabled";

  /** Exit code of a usage error. */
  static final int USAGE = 2;

  /** Exit code of a runner that could not start. */
  static final int FAILED = 1;

  /** The system property that tells a model its resource folder. */
  public static final String RESOURCE_DIRECTORY_PROPERTY = "modelrunner.resource.directory";

  /**
   * The system property that tells a model whether its runner has a GPU ({@code true} or {@code
   * false}).
   */
  public static final String HAS_GPU_PROPERTY = "modelrunner.has.gpu";

  /** The system property that tells a model its model id, when the runner was given one. */
  public static final String MODEL_ID_PROPERTY = "modelrunner.model.id";

  /**
   * Where the Python runner's container keeps the submission, used when no code directory is given.
   */
  static final Path DEFAULT_CODE_DIRECTORY = Path.of("/workspace/submission/code");

  // The options' values as given (command line, then variable, then default), checked by check().
  String codeDirectory;
  String resourceDirectory;
  String hasGpu;
  String modelId;
  String mainFile;
  String secure;
  String certificatesDirectory;
  String cruncherWalletPubkey;
  String cruncherHotkey;
  String coordinatorCertHash;
  String coordinatorCertHashSecondary;
  String coordinatorWalletPubkey;
  String crunchOnchainAddress;
  String gatewayAuthCertFile;
  String gatewayAuthCheckModelId;
  String tlsCertificate;
  String tlsKey;
  String tlsClientCa;
  String address;
  String logLevel;
  String maxSend;
  String maxReceive;
  final List<String> classPath = new ArrayList<>();
  String callTimeLimit;
  String setupTimeLimit;
  String shutdownGrace;
  String metricsPort;
  String metricsHost;

  /** What {@code --help} says before the options. */
  private static final String HEADER =
      "Serves one submitted model over gRPC with the Python model runner's protocol"
          + " (dynamic_subclass.DynamicSubclassService and grpc.health.v1.Health). Each option can"
          + " also be set by the environment variable named in its description; the command line"
          + " wins.";

  /** What {@code --help} says after the options. */
  private static final String FOOTER =
      "Exit codes: 0 stopped, 1 cannot listen, 2 usage error. SIGTERM stops gracefully.";

  /**
   * One option: its name, its environment variable, the label of its value, its default (null:
   * none), whether it may be given without a value (a flag: {@code true}), the field it sets and
   * its help.
   */
  private record Spec(
      String name,
      String variable,
      String label,
      String defaultValue,
      boolean flag,
      BiConsumer<RunnerMain, String> field,
      String help) {

    /** The name without its dashes, as commons-cli knows it. */
    String key() {
      return name.substring(2);
    }
  }

  /** Every option but {@code --help}, in the order {@code --help} lists them. */
  private static final List<Spec> SPECS =
      List.of(
          new Spec(
              "--code-directory",
              "CODE_DIRECTORY",
              "PATH",
              null,
              false,
              (command, value) -> command.codeDirectory = value,
              "The submission: a folder of classes and jars, or a jar. Env CODE_DIRECTORY. Default"
                  + " /workspace/submission/code if it exists (the Python runner's container); required otherwise."),
          new Spec(
              "--resource-directory",
              "RESOURCE_DIRECTORY",
              "PATH",
              "/workspace/resources",
              false,
              (command, value) -> command.resourceDirectory = value,
              "The model's resources (weights...): the model reads it from the system property "
                  + RESOURCE_DIRECTORY_PROPERTY
                  + ". Env RESOURCE_DIRECTORY. Default /workspace/resources."),
          new Spec(
              "--has-gpu",
              "HAS_GPU",
              "BOOLEAN",
              "false",
              true,
              (command, value) -> command.hasGpu = value,
              "Whether the runner has a GPU (the model reads the system property "
                  + HAS_GPU_PROPERTY
                  + "): a flag, or true/false, 1/0, yes/no, on/off. Env HAS_GPU. Default false."),
          new Spec(
              "--model-id",
              "MODEL_ID",
              "ID",
              null,
              false,
              (command, value) -> command.modelId = value,
              "The model's id (the model reads the system property "
                  + MODEL_ID_PROPERTY
                  + "): the model_id cruncher_msg.json must name in secure mode, and gateway tokens"
                  + " in gateway mode. Env MODEL_ID."),
          new Spec(
              "--main-file",
              "MAIN_FILE",
              "FILE",
              "main.py",
              false,
              (command, value) -> command.mainFile = value,
              "Accepted for the Python runner's entrypoint and ignored: a Java submission has no main"
                  + " file. Env MAIN_FILE."),
          new Spec(
              "--secure",
              "SECURE",
              "BOOLEAN",
              "false",
              true,
              (command, value) -> command.secure = value,
              "The Python ecosystem's secure mode: TLS only, a client certificate from ca.crt required,"
                  + " the coordinator's key pinned (--coordinator-cert-hash), the signed identity of"
                  + " cruncher_msg.json sent with each answer. A flag, or true/false, 1/0, yes/no, on/off."
                  + " Env SECURE. Default false."),
          new Spec(
              "--certificates-directory",
              "CERTIFICATES_DIRECTORY",
              "PATH",
              "/workspace/certificates",
              false,
              (command, value) -> command.certificatesDirectory = value,
              "Secure mode's files: tls.crt, tls.key, ca.crt (the coordinators' authority),"
                  + " cruncher_msg.json. Env CERTIFICATES_DIRECTORY. Default /workspace/certificates."),
          new Spec(
              "--cruncher-wallet-pubkey",
              "CRUNCHER_WALLET_PUBKEY",
              "BASE58",
              null,
              false,
              (command, value) -> command.cruncherWalletPubkey = value,
              "Secure mode: the wallet that must have signed cruncher_msg.json. Env"
                  + " CRUNCHER_WALLET_PUBKEY."),
          new Spec(
              "--cruncher-hotkey",
              "CRUNCHER_HOTKEY",
              "HOTKEY",
              null,
              false,
              (command, value) -> command.cruncherHotkey = value,
              "Secure mode: the hotkey cruncher_msg.json must name (unset: none). Env CRUNCHER_HOTKEY."),
          new Spec(
              "--coordinator-cert-hash",
              "COORDINATOR_CERT_HASH",
              "HEX",
              null,
              false,
              (command, value) -> command.coordinatorCertHash = value,
              "Secure mode: the registered coordinator key, lowercase hex SHA-256 of its"
                  + " SubjectPublicKeyInfo. Env COORDINATOR_CERT_HASH."),
          new Spec(
              "--coordinator-cert-hash-secondary",
              "COORDINATOR_CERT_HASH_SECONDARY",
              "HEX",
              null,
              false,
              (command, value) -> command.coordinatorCertHashSecondary = value,
              "Secure mode: a second registered coordinator key (rotation). Env"
                  + " COORDINATOR_CERT_HASH_SECONDARY."),
          new Spec(
              "--coordinator-wallet-pubkey",
              "COORDINATOR_WALLET_PUBKEY",
              "BASE58",
              null,
              false,
              (command, value) -> command.coordinatorWalletPubkey = value,
              "Accepted and unused, as by the Python runner. Env COORDINATOR_WALLET_PUBKEY."),
          new Spec(
              "--crunch-onchain-address",
              "CRUNCH_ONCHAIN_ADDRESS",
              "ADDRESS",
              null,
              false,
              (command, value) -> command.crunchOnchainAddress = value,
              "Accepted and unused, as by the Python runner. Env CRUNCH_ONCHAIN_ADDRESS."),
          new Spec(
              "--gateway-auth-cert-file",
              GatewayAuth.CERT_FILE_VARIABLE,
              "PATH",
              null,
              false,
              (command, value) -> command.gatewayAuthCertFile = value,
              "Gateway authentication: every call but health needs a token signed by a key whose"
                  + " SPKI SHA-256 this JSON file lists (cert_hashes; read again every 30 s). Env "
                  + GatewayAuth.CERT_FILE_VARIABLE
                  + " (the Python runner's switch)."),
          new Spec(
              "--gateway-auth-check-model-id",
              "GATEWAY_AUTH_CHECK_MODEL_ID",
              "BOOLEAN",
              "true",
              true,
              (command, value) -> command.gatewayAuthCheckModelId = value,
              "Gateway authentication: refuse a token whose model_id is not --model-id (when set),"
                  + " which the Python runner does not check. Env GATEWAY_AUTH_CHECK_MODEL_ID."
                  + " Default true."),
          new Spec(
              "--tls-certificate",
              "TLS_CERTIFICATE",
              "PATH",
              null,
              false,
              (command, value) -> command.tlsCertificate = value,
              "Serve TLS with this PEM certificate chain (leaf first), with --tls-key; not with"
                  + " --secure, which has its own. Env TLS_CERTIFICATE."),
          new Spec(
              "--tls-key",
              "TLS_KEY",
              "PATH",
              null,
              false,
              (command, value) -> command.tlsKey = value,
              "The unencrypted PEM key (PKCS#8 or PKCS#1) of --tls-certificate. Env TLS_KEY."),
          new Spec(
              "--tls-client-ca",
              "TLS_CLIENT_CA",
              "PATH",
              null,
              false,
              (command, value) -> command.tlsClientCa = value,
              "With --tls-certificate: require client certificates issued by an authority of this"
                  + " PEM bundle. Env TLS_CLIENT_CA."),
          new Spec(
              "--address",
              "GRPC_ADDRESS",
              "HOST:PORT",
              GrpcRunner.DEFAULT_ADDRESS,
              false,
              (command, value) -> command.address = value,
              "Where to listen, as [::]:50051, 0.0.0.0:50051, 127.0.0.1:0. Env GRPC_ADDRESS."
                  + " Default [::]:50051."),
          new Spec(
              "--log-level",
              "LOG_LEVEL",
              "LEVEL",
              "INFO",
              false,
              (command, value) -> command.logLevel = value,
              "CRITICAL, ERROR, WARNING, INFO, DEBUG or TRACE (or a java.util.logging level)."
                  + " Env LOG_LEVEL. Default INFO."),
          new Spec(
              "--max-send-message-length",
              "GRPC_MAX_SEND_MESSAGE_LENGTH",
              "BYTES",
              "67108864",
              false,
              (command, value) -> command.maxSend = value,
              "The largest response, in bytes; -1 for no limit. Env GRPC_MAX_SEND_MESSAGE_LENGTH."
                  + " Default 67108864 (64 MiB)."),
          new Spec(
              "--max-receive-message-length",
              "GRPC_MAX_RECEIVE_MESSAGE_LENGTH",
              "BYTES",
              "67108864",
              false,
              (command, value) -> command.maxReceive = value,
              "The largest request, in bytes; -1 for no limit. Env GRPC_MAX_RECEIVE_MESSAGE_LENGTH."
                  + " Default 67108864 (64 MiB)."),
          new Spec(
              "--class-path",
              "HOST_CLASS_PATH",
              "PATHS",
              null,
              false,
              (command, value) -> command.classPath.add(value),
              "Jars or class folders (a folder also brings the jars beneath it), separated by '"
                  + File.pathSeparator
                  + "', that the submission sees besides the JDK and the model runner's API:"
                  + " where the coordinator's base class lives. Repeatable. Env HOST_CLASS_PATH."),
          new Spec(
              "--call-time-limit",
              "CALL_TIME_LIMIT",
              "DURATION",
              null,
              false,
              (command, value) -> command.callTimeLimit = value,
              "Answer a Call still running after this long with DEADLINE_EXCEEDED (the model keeps"
                  + " running; the runner is busy until it returns): seconds such as 2.5, or 250ms, 2s, 5m, PT2S;"
                  + " 0 for none. Env CALL_TIME_LIMIT. Default none."),
          new Spec(
              "--setup-time-limit",
              "SETUP_TIME_LIMIT",
              "DURATION",
              "5m",
              false,
              (command, value) -> command.setupTimeLimit = value,
              "Answer a Setup still running after this long (a constructor that loads for ever) with"
                  + " DEADLINE_EXCEEDED (the constructor keeps running; the runner is busy until it returns):"
                  + " seconds such as 90, or 250ms, 2s, 5m, PT5M; 0 for none. Env SETUP_TIME_LIMIT."
                  + " Default 5m."),
          new Spec(
              "--shutdown-grace",
              "SHUTDOWN_GRACE",
              "DURATION",
              "10s",
              false,
              (command, value) -> command.shutdownGrace = value,
              "On SIGTERM, how long the request in flight may take to finish. Env SHUTDOWN_GRACE."
                  + " Default 10s."),
          new Spec(
              "--metrics-port",
              "METRICS_PORT",
              "PORT",
              null,
              false,
              (command, value) -> command.metricsPort = value,
              "Serve the runner's and the JVM's metrics as Prometheus text on http://HOST:PORT/metrics"
                  + " (0: a free port). Env METRICS_PORT. Default none: no metrics served."),
          new Spec(
              "--metrics-host",
              "METRICS_HOST",
              "HOST",
              null,
              false,
              (command, value) -> command.metricsHost = value,
              "Where the metrics listen: 127.0.0.1 keeps them local, :: or 0.0.0.0 on every interface."
                  + " Plain HTTP without authentication. Env METRICS_HOST. Default the host of --address."));

  /** The environment variable of each option. */
  static final Map<String, String> ENVIRONMENT =
      SPECS.stream().collect(Collectors.toUnmodifiableMap(Spec::name, Spec::variable));

  /** The code directory used when none is given, if it exists. */
  private Path defaultCodeDirectory = DEFAULT_CODE_DIRECTORY;

  private RunnerMain() {}

  /**
   * Runs the runner until the process is stopped; exits with 1 or 2 (and one line on standard
   * error) when it cannot start.
   *
   * @param args the command line; {@code --help} lists the options
   */
  public static void main(String[] args) {
    defaultProperties(System.getProperties());
    int code = execute(args, System.getenv(), System.out, System.err, new JvmProcess());
    if (code != 0) {
      System.exit(code);
    }
  }

  /**
   * Sets the system properties the executable needs, unless they are set: before anything touches
   * {@code java.util.logging}, its {@link RunnerLogManager} (which lets the runner log while it
   * stops); and Netty's buffer pool without Flight Recorder events ({@link #NETTY_JFR_PROPERTY}):
   * with them, the pool's first buffer loads Flight Recorder's classes, recording or not (about 130
   * ms on two cores, on the way to the runner's first answer).
   */
  static void defaultProperties(java.util.Properties properties) {
    properties.putIfAbsent("java.util.logging.manager", RunnerLogManager.class.getName());
    properties.putIfAbsent(NETTY_JFR_PROPERTY, "false");
  }

  /** What running the runner does to the process it runs in; tests replace it. */
  interface RunnerProcess {
    /** Sets up logging at {@code level}. */
    void configureLogging(Level level);

    /** Called once the runner serves, before the program waits for it to stop. */
    void started(GrpcRunner runner, Duration shutdownGrace);

    /** Called once the metrics are served at {@code uri}, before the runner starts. */
    default void metricsServed(java.net.URI uri) {}
  }

  /**
   * The real process: logs to standard error, stops gracefully on {@code SIGTERM} (and on {@code
   * System.exit}, naming its caller), within a bounded time ({@link ShutdownHook}).
   */
  static final class JvmProcess implements RunnerProcess {
    @Override
    public void configureLogging(Level level) {
      RunnerLogging.configure(level, System.err);
    }

    @Override
    public void started(GrpcRunner runner, Duration shutdownGrace) {
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(ShutdownHook.of(runner, shutdownGrace), "modelrunner-grpc-shutdown"));
    }
  }

  /** The options, checked. */
  record Options(
      Path codeDirectory,
      Path resourceDirectory,
      boolean hasGpu,
      String modelId,
      String mainFile,
      String address,
      Level logLevel,
      int maxSendBytes,
      int maxReceiveBytes,
      List<Path> classPath,
      Duration callTimeLimit,
      Duration setupTimeLimit,
      Duration shutdownGrace,
      SecureMode secureMode,
      GatewayAuth gatewayAuth,
      TlsFiles tls,
      String metricsHost,
      int metricsPort) {

    /** The files of plain TLS; null paths when the runner serves plaintext. */
    record TlsFiles(Path certificate, Path key, Path clientAuthority) {}

    /** Whether metrics are served ({@code --metrics-port} given). */
    boolean servesMetrics() {
      return metricsPort >= 0;
    }

    /** Returns a builder of the runner these options describe, without its submission. */
    GrpcRunner.Builder runnerBuilder() {
      return GrpcRunner.builder()
          .warmUp(true)
          .secureMode(secureMode)
          .gatewayAuth(gatewayAuth)
          .tls(tls.certificate(), tls.key())
          .tlsClientAuthority(tls.clientAuthority())
          .submission(codeDirectory)
          .hostClassPath(classPath)
          .applicationClassesVisible(false)
          .address(address)
          .maxSendMessageBytes(maxSendBytes)
          .maxReceiveMessageBytes(maxReceiveBytes)
          .callTimeLimit(callTimeLimit)
          .setupTimeLimit(setupTimeLimit)
          .shutdownGrace(shutdownGrace);
    }
  }

  /** A usage error: a one-line message. */
  static final class UsageException extends Exception {
    UsageException(String message) {
      super(message);
    }
  }

  /**
   * Parses and checks the command line and environment.
   *
   * @return the options, or null when help was asked for (and written to {@code out})
   * @throws UsageException with a one-line message for a usage error
   */
  static Options parse(String[] args, Map<String, String> env, PrintStream out)
      throws UsageException {
    return parse(args, env, out, DEFAULT_CODE_DIRECTORY);
  }

  /** Parses, with the code directory used when none is given. */
  static Options parse(
      String[] args, Map<String, String> env, PrintStream out, Path defaultCodeDirectory)
      throws UsageException {
    org.apache.commons.cli.Options options = commandLineOptions();
    CommandLine line;
    try {
      line = DefaultParser.builder().setAllowPartialMatching(false).get().parse(options, args);
    } catch (UnrecognizedOptionException e) {
      throw new UsageException("Unknown option: '" + e.getOption() + "' (see --help)");
    } catch (MissingArgumentException e) {
      throw new UsageException(
          "Missing value for option '--"
              + e.getOption().getLongOpt()
              + "' ("
              + e.getOption().getArgName()
              + ") (see --help)");
    } catch (ParseException e) {
      throw new UsageException(oneLine(e.getMessage()) + " (see --help)");
    }
    if (!line.getArgList().isEmpty()) {
      throw new UsageException(
          "Unexpected argument '"
              + line.getArgList().get(0)
              + "': every value follows its option"
              + " (see --help)");
    }
    if (line.hasOption("help")) {
      PrintWriter writer = new PrintWriter(out, true, Charset.defaultCharset());
      HelpFormatter help = new HelpFormatter();
      help.setOptionComparator(null); // in the order of SPECS
      help.printHelp(writer, HELP_WIDTH, NAME + " [OPTIONS]", HEADER, options, 2, 2, FOOTER);
      writer.flush();
      return null;
    }
    RunnerMain command = new RunnerMain();
    command.defaultCodeDirectory = defaultCodeDirectory;
    for (Spec spec : SPECS) {
      String[] given = line.getOptionValues(spec.key());
      if (line.hasOption(spec.key())) {
        if (given == null) { // a flag without its value
          spec.field().accept(command, "true");
        } else if (given.length > 1 && !spec.name().equals("--class-path")) {
          throw new UsageException(
              "option '" + spec.name() + "' should be specified only once (see --help)");
        } else {
          for (String value : given) {
            spec.field().accept(command, value);
          }
        }
        continue;
      }
      String variable = env.get(spec.variable());
      if (variable != null && !variable.isBlank()) {
        spec.field().accept(command, variable);
      } else if (spec.defaultValue() != null) {
        spec.field().accept(command, spec.defaultValue());
      }
    }
    return command.check();
  }

  /** How wide {@code --help} is. */
  private static final int HELP_WIDTH = 100;

  /** The command line's options, for commons-cli. */
  private static org.apache.commons.cli.Options commandLineOptions() {
    org.apache.commons.cli.Options options = new org.apache.commons.cli.Options();
    for (Spec spec : SPECS) {
      Option.Builder option =
          Option.builder().longOpt(spec.key()).argName(spec.label()).desc(spec.help()).hasArg();
      if (spec.flag()) {
        option.optionalArg(true);
      }
      options.addOption(option.get());
    }
    options.addOption(Option.builder("h").longOpt("help").desc("Show this help and exit.").get());
    return options;
  }

  private Options check() throws UsageException {
    boolean secureMode = require("--secure", secure, RunnerMain::bool);
    boolean checkModelId =
        require("--gateway-auth-check-model-id", gatewayAuthCheckModelId, RunnerMain::bool);
    Path code = codeDirectory();
    boolean gpu = require("--has-gpu", hasGpu, RunnerMain::bool);
    Path resources = Path.of(resourceDirectory.strip()).toAbsolutePath().normalize();
    String id = modelId == null || modelId.isBlank() ? null : modelId.strip();
    String checkedAddress =
        require(
            "--address",
            address,
            value -> {
              GrpcRunner.builder().address(value);
              return value.strip();
            });
    Level level = require("--log-level", logLevel, RunnerLogging::level);
    int send = require("--max-send-message-length", maxSend, Sizes::parse);
    int receive = require("--max-receive-message-length", maxReceive, Sizes::parse);
    List<Path> hostPath = hostClassPath();
    Duration limit =
        callTimeLimit == null
            ? null
            : require("--call-time-limit", callTimeLimit, Durations::parse);
    Duration setupLimit = require("--setup-time-limit", setupTimeLimit, Durations::parse);
    Duration grace = require("--shutdown-grace", shutdownGrace, Durations::parse);
    int metrics =
        metricsPort == null || metricsPort.isBlank()
            ? -1
            : require("--metrics-port", metricsPort, RunnerMain::port);
    String metricsListen =
        metricsHost == null || metricsHost.isBlank() ? host(checkedAddress) : metricsHost.strip();
    return new Options(
        code,
        resources,
        gpu,
        id,
        mainFile,
        checkedAddress,
        level,
        send,
        receive,
        hostPath,
        limit == null || limit.isZero() ? null : limit,
        setupLimit.isZero() ? null : setupLimit,
        grace,
        secureMode ? secureMode(id) : null,
        gatewayAuth(id, checkModelId),
        tlsFiles(secureMode),
        metricsListen,
        metrics);
  }

  /** Checks the plain TLS options: both files or neither, not with secure mode. */
  private Options.TlsFiles tlsFiles(boolean secureMode) throws UsageException {
    Path certificate = path(tlsCertificate);
    Path key = path(tlsKey);
    Path clientCa = path(tlsClientCa);
    if (certificate == null && key == null && clientCa == null) {
      return new Options.TlsFiles(null, null, null);
    }
    if (secureMode) {
      throw new UsageException(
          "give secure mode (--secure, SECURE) or --tls-certificate, not both: secure mode serves"
              + " TLS with its certificates directory");
    }
    if (certificate == null || key == null) {
      throw new UsageException(
          "--tls-certificate (TLS_CERTIFICATE) and --tls-key (TLS_KEY) go together"
              + (clientCa != null ? ", and --tls-client-ca needs them" : ""));
    }
    try {
      RunnerTls.context(certificate, key, clientCa);
    } catch (IllegalArgumentException | UncheckedIOException e) {
      throw new UsageException(oneLine(e.getMessage()) + "; the runner does not start");
    }
    return new Options.TlsFiles(certificate, key, clientCa);
  }

  private static Path path(String value) {
    return value == null || value.isBlank()
        ? null
        : Path.of(value.strip()).toAbsolutePath().normalize();
  }

  /** Reads and checks secure mode's files; any failure stops the runner before it listens. */
  private SecureMode secureMode(String id) throws UsageException {
    if (gatewayAuthCertFile != null) {
      throw new UsageException(
          "give secure mode (--secure, SECURE) or gateway authentication (--gateway-auth-cert-file, "
              + GatewayAuth.CERT_FILE_VARIABLE
              + "), not both");
    }
    Path directory = Path.of(certificatesDirectory.strip()).toAbsolutePath().normalize();
    try {
      return SecureMode.builder()
          .certificatesDirectory(directory)
          .modelId(id)
          .cruncherWalletPubkey(cruncherWalletPubkey)
          .cruncherHotkey(cruncherHotkey)
          .coordinatorCertHash(coordinatorCertHash)
          .coordinatorCertHashSecondary(coordinatorCertHashSecondary)
          .build();
    } catch (IllegalArgumentException e) {
      throw new UsageException(oneLine(e.getMessage()) + "; the runner does not start");
    }
  }

  /** Reads the gateway cert file, when one is given; a failure stops the runner. */
  private GatewayAuth gatewayAuth(String id, boolean checkModelId) throws UsageException {
    if (gatewayAuthCertFile == null) {
      return null;
    }
    try {
      return GatewayAuth.builder()
          .certFile(Path.of(gatewayAuthCertFile.strip()).toAbsolutePath().normalize())
          .modelId(id)
          .checkModelId(checkModelId)
          .build();
    } catch (IllegalArgumentException e) {
      throw new UsageException(
          "gateway authentication: " + oneLine(e.getMessage()) + "; the runner does not start");
    }
  }

  private Path codeDirectory() throws UsageException {
    if ((codeDirectory == null || codeDirectory.isBlank())
        && Files.isDirectory(defaultCodeDirectory)) {
      codeDirectory = defaultCodeDirectory.toString();
    }
    if (codeDirectory == null || codeDirectory.isBlank()) {
      throw new UsageException(
          "no code directory: give --code-directory or set CODE_DIRECTORY (and "
              + defaultCodeDirectory
              + " does not exist)");
    }
    Path path = Path.of(codeDirectory.strip()).toAbsolutePath().normalize();
    if (!Files.exists(path)) {
      throw new UsageException("the code directory " + path + " does not exist");
    }
    if (Files.isDirectory(path)) {
      try (Stream<Path> files = Files.walk(path)) {
        boolean code =
            files.anyMatch(
                file -> {
                  String name = file.getFileName().toString();
                  return Files.isRegularFile(file)
                      && (name.endsWith(".class") || name.endsWith(".jar"));
                });
        if (!code) {
          throw new UsageException(
              "the code directory " + path + " is empty: it holds no jar and no class file");
        }
      } catch (IOException | UncheckedIOException e) {
        throw new UsageException("cannot read the code directory " + path + ": " + e.getMessage());
      }
    }
    return path;
  }

  private List<Path> hostClassPath() throws UsageException {
    List<Path> entries = new ArrayList<>();
    for (String value : classPath) {
      for (String entry : value.split(File.pathSeparator)) {
        if (entry.isBlank()) {
          continue;
        }
        Path path = Path.of(entry.strip()).toAbsolutePath().normalize();
        if (!Files.exists(path)) {
          throw new UsageException(describe("--class-path") + ": " + path + " does not exist");
        }
        entries.add(path);
      }
    }
    return entries;
  }

  /** Checks a value with the parser of its option. */
  private static <T> T require(String option, String value, Parser<T> parser)
      throws UsageException {
    try {
      return parser.parse(Objects.requireNonNull(value, option));
    } catch (IllegalArgumentException e) {
      throw new UsageException(describe(option) + ": " + oneLine(e.getMessage()));
    }
  }

  /** Parses an option's value; throws {@link IllegalArgumentException} for an invalid one. */
  private interface Parser<T> {
    T parse(String value);
  }

  /** A port from 0 to 65535. */
  static int port(String value) {
    int port;
    try {
      port = Integer.parseInt(value.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + value + "' is not a port", e);
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(port + " is not a port from 0 to 65535");
    }
    return port;
  }

  /** The host of a checked {@code host:port} or {@code [ipv6]:port}. */
  static String host(String address) {
    return address.startsWith("[")
        ? address.substring(1, address.indexOf(']'))
        : address.substring(0, address.lastIndexOf(':'));
  }

  /** A boolean as the Python runner's command line (click) reads it. */
  static boolean bool(String value) {
    switch (value.strip().toLowerCase(java.util.Locale.ROOT)) {
      case "1", "true", "t", "yes", "y", "on" -> {
        return true;
      }
      case "", "0", "false", "f", "no", "n", "off" -> {
        return false;
      }
      default -> throw new IllegalArgumentException("'" + value + "' is not a valid boolean");
    }
  }

  private static String describe(String option) {
    return "invalid " + option + " (" + ENVIRONMENT.get(option) + ")";
  }

  private static String oneLine(String message) {
    return message == null ? "" : message.strip().replaceAll("\\s*\\R\\s*", " ");
  }

  /**
   * Runs the program: parses, configures logging, starts the runner and waits until it stops.
   *
   * @return the exit code: 0 after a stop (or for {@code --help}), 1 if the runner cannot start, 2
   *     for a usage error
   */
  static int execute(
      String[] args,
      Map<String, String> env,
      PrintStream out,
      PrintStream err,
      RunnerProcess process) {
    Options options;
    try {
      options = parse(args, env, out);
    } catch (UsageException e) {
      err.println(NAME + ": " + e.getMessage());
      err.flush();
      return USAGE;
    }
    if (options == null) {
      return 0;
    }
    process.configureLogging(options.logLevel());
    Logger log = Logger.getLogger(RunnerMain.class.getName());
    System.setProperty(RESOURCE_DIRECTORY_PROPERTY, options.resourceDirectory().toString());
    System.setProperty(HAS_GPU_PROPERTY, Boolean.toString(options.hasGpu()));
    if (options.modelId() != null) {
      System.setProperty(MODEL_ID_PROPERTY, options.modelId());
      log.info("Model " + options.modelId() + ", code " + options.codeDirectory());
    }
    if (!"main.py".equals(options.mainFile())) {
      log.info("--main-file " + options.mainFile() + " is for Python runners: ignored");
    }
    MetricsEndpoint metrics = null;
    if (options.servesMetrics()) {
      try {
        metrics = MetricsEndpoint.start(options.metricsHost(), options.metricsPort());
      } catch (IOException e) {
        err.println(
            NAME
                + ": cannot serve the metrics on "
                + options.metricsHost()
                + " port "
                + options.metricsPort()
                + ": "
                + oneLine(e.getMessage()));
        err.flush();
        return FAILED;
      }
      log.info("Metrics (Prometheus text) on " + metrics.uri());
      process.metricsServed(metrics.uri());
    }
    try {
      return serve(options, metrics, process, err);
    } finally {
      if (metrics != null) {
        metrics.close();
      }
    }
  }

  /** Builds and starts the runner, and waits until it stops. */
  private static int serve(
      Options options, MetricsEndpoint metrics, RunnerProcess process, PrintStream err) {
    GrpcRunner runner;
    try {
      GrpcRunner.Builder builder = options.runnerBuilder();
      if (metrics != null) {
        builder.observer(metrics.observer());
      }
      runner = builder.build();
    } catch (IllegalArgumentException | UncheckedIOException e) {
      err.println(
          NAME
              + ": cannot open the code directory "
              + options.codeDirectory()
              + ": "
              + oneLine(e.getMessage()));
      err.flush();
      return USAGE;
    }
    try {
      runner.start();
    } catch (IOException e) {
      Throwable cause = e.getCause();
      err.println(
          NAME
              + ": cannot listen on "
              + options.address()
              + ": "
              + oneLine(e.getMessage())
              + (cause == null ? "" : " (" + oneLine(cause.getMessage()) + ")"));
      err.flush();
      return FAILED;
    }
    process.started(runner, options.shutdownGrace());
    try {
      runner.awaitTermination();
    } catch (InterruptedException e) {
      runner.shutdown(options.shutdownGrace());
      Thread.currentThread().interrupt();
    }
    return 0;
  }
}
