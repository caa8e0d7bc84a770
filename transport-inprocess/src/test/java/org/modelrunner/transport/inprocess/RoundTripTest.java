package org.modelrunner.transport.inprocess;

import static org.assertj.core.api.Assertions.assertThat;
import static org.modelrunner.transport.inprocess.TestModels.BASE;
import static org.modelrunner.transport.inprocess.TestModels.TIMEOUT;
import static org.modelrunner.transport.inprocess.TestModels.await;
import static org.modelrunner.transport.inprocess.TestModels.call;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.modelrunner.spi.Argument;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.KeywordArgument;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.Status;
import org.modelrunner.spi.StatusCode;
import org.modelrunner.spi.ValueConverter;
import org.modelrunner.spi.Variant;
import org.modelrunner.transport.inprocess.fixtures.ClassPathTracker;

/** Setup, call and reset through the transport answer with the hosted model's exact statuses. */
@ExtendWith(TestModels.NoLeaks.class)
class RoundTripTest {
  private static final ValueConverter VALUES = ValueConverter.create();

  /** The ways of registering the test submission; every row must behave the same. */
  private static InProcessRunner register(String how, String name) {
    Function<InProcessModels.Registration, InProcessRunner> register =
        InProcessModels.Registration::register;
    return switch (how) {
      case "directory" -> register.apply(InProcessModels.submission(name, TestModels.submission()));
      case "jar" -> register.apply(InProcessModels.submission(name, TestModels.jar()));
      case "zero-copy" ->
          InProcessModels.submission(name, TestModels.submission()).zeroCopy(true).register();
      default -> throw new IllegalArgumentException(how);
    };
  }

  @ParameterizedTest
  @ValueSource(strings = {"directory", "jar", "zero-copy"})
  void setupCallAndResetAnswerWithTheProtocolsExactStatuses(String how) {
    try (InProcessRunner runner = register(how, "round-trip-" + how);
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      assertThat(await(call(transport, connection, "predict")).status())
          .isEqualTo(Status.of(StatusCode.FAILED_PRECONDITION, "Setup has not been called yet"));
      assertThat(await(connection.setup(" ", Arguments.none(), TIMEOUT)).status())
          .isEqualTo(Status.of(StatusCode.INVALID_ARGUMENT, "class_name cannot be empty"));
      assertThat(await(connection.setup(BASE, Arguments.none(), TIMEOUT)).status())
          .isEqualTo(Status.of(StatusCode.SUCCESS, "Instance created successfully"));
      assertThat(await(connection.setup(BASE, Arguments.none(), TIMEOUT)).status())
          .isEqualTo(Status.of(StatusCode.SUCCESS, "Instance already exists"));

      Reply ticked =
          await(call(transport, connection, "tick", VALUES.encode(Map.of("price", 101.5))));
      assertThat(ticked).isEqualTo(Reply.success(null));
      assertThat(await(call(transport, connection, "predict")))
          .isEqualTo(Reply.success(Variant.ofLong(1)));
      assertThat(await(call(transport, connection, "nothing"))).isEqualTo(Reply.success(null));
      assertThat(await(call(transport, connection, "echo", Variant.ofString("héllo ✓"))))
          .isEqualTo(Reply.success(Variant.ofString("héllo ✓")));
      assertThat(await(call(transport, connection, "")).status())
          .isEqualTo(Status.of(StatusCode.INVALID_ARGUMENT, "methodName cannot be empty"));
      assertThat(await(call(transport, connection, "missing")).status())
          .isEqualTo(
              Status.of(
                  StatusCode.BAD_IMPLEMENTATION,
                  "Method \"missing\" not found in class \"Model\""));
      assertThat(await(call(transport, connection, "fail")).status())
          .isEqualTo(
              Status.of(
                  StatusCode.MODEL_FAILED,
                  "The model raised an exception: java.lang.IllegalStateException: boom"));

      assertThat(await(connection.reset(TIMEOUT)).status())
          .isEqualTo(Status.of(StatusCode.SUCCESS, "Instance successfully reset"));
      assertThat(await(connection.reset(TIMEOUT)).status())
          .isEqualTo(Status.of(StatusCode.SUCCESS, "No instance exists to reset"));
      assertThat(await(call(transport, connection, "predict")).status())
          .isEqualTo(Status.of(StatusCode.FAILED_PRECONDITION, "Setup has not been called yet"));
      // A new setup makes a clean new instance.
      TestModels.setUp(connection);
      assertThat(await(call(transport, connection, "predict")))
          .isEqualTo(Reply.success(Variant.ofLong(0)));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"directory", "zero-copy"})
  void argumentsKeepTheirPositionsAndKeywords(String how) {
    try (InProcessRunner runner = register(how, "arguments-" + how);
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      Reply setup =
          await(
              connection.setup(
                  BASE,
                  Arguments.builder().add("name", Variant.ofString("alice")).build(),
                  TIMEOUT));
      assertThat(setup.status().isSuccess()).as("%s", setup).isTrue();
      assertThat(await(call(transport, connection, "name")))
          .isEqualTo(Reply.success(Variant.ofString("alice")));

      // Positions sort the arguments (gaps allowed, given out of order): a=40, b=2.
      Arguments outOfOrder =
          Arguments.of(
              List.of(new Argument(7, Variant.ofLong(2)), new Argument(3, Variant.ofLong(40))),
              List.of());
      assertThat(await(connection.call(transport.prepare("add", outOfOrder), TIMEOUT)))
          .isEqualTo(Reply.success(Variant.ofLong(42)));

      // A keyword fills its parameter; an unknown keyword is dropped.
      Arguments keywords =
          Arguments.of(
              List.of(new Argument(1, Variant.ofDouble(2.0))),
              List.of(
                  new KeywordArgument("factor", Variant.ofDouble(1.5)),
                  new KeywordArgument("unknown", Variant.ofString("ignored"))));
      assertThat(await(connection.call(transport.prepare("scaled", keywords), TIMEOUT)))
          .isEqualTo(Reply.success(Variant.ofDouble(3.0)));
    }
  }

  @Test
  void anImplementationOnTheClassPathCanBeRegistered() {
    try (InProcessRunner runner = InProcessModels.register("class-path", ClassPathTracker.class);
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      await(call(transport, connection, "tick", Variant.NONE));
      await(call(transport, connection, "tick", Variant.NONE));
      assertThat(await(call(transport, connection, "predict")))
          .isEqualTo(Reply.success(Variant.ofLong(2)));
      assertThat(await(call(transport, connection, "echo", Variant.ofString("x"))))
          .isEqualTo(Reply.success(Variant.ofString("x")));
    }
  }

  @Test
  void aCallPreparedElsewhereIsEncodedByTheConnection() {
    try (InProcessRunner runner =
            InProcessModels.register("foreign-call", TestModels.submission());
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      Reply reply =
          await(
              connection.call(
                  org.modelrunner.spi.PreparedCall.of(
                      "echo", Arguments.builder().add(Variant.ofString("plain")).build()),
                  TIMEOUT));
      assertThat(reply).isEqualTo(Reply.success(Variant.ofString("plain")));
    }
  }

  @Test
  void oneModelCanBeRegisteredFromASubmissionWithItsOwnIsolation() {
    Path path = TestModels.submission();
    try (InProcessRunner runner =
            InProcessModels.submission(
                    "custom-isolation", org.modelrunner.loader.Submission.builder(path).build())
                .register();
        ModelTransport transport = TestModels.transport();
        ModelConnection connection = transport.connect(runner.endpoint())) {
      TestModels.setUp(connection);
      assertThat(await(call(transport, connection, "echo", Variant.ofString("y"))))
          .isEqualTo(Reply.success(Variant.ofString("y")));
    }
  }
}
