package org.modelrunner.client;

import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.modelrunner.spi.Arguments;
import org.modelrunner.spi.HealthStatus;
import org.modelrunner.spi.ModelConnection;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.PreparedCall;
import org.modelrunner.spi.Reply;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.Variant;

/**
 * The model of a fleet's warm-up fan-out ({@link FanOutEngine#warmUp}): a member of no fleet, whose
 * transport prepares calls as given and whose connection answers every call at once, on the calling
 * thread, with a success. It reaches no runner: nothing leaves the process.
 */
final class WarmUpModel implements ModelTransport, ModelConnection {
  private static final URI ADDRESS = URI.create("inproc://modelrunner-warm-up");

  /** The answer to every call. */
  private static final Reply ANSWER = Reply.success(Variant.ofDouble(0.5));

  private WarmUpModel() {}

  /** Returns a new member, connected to a model of this kind, with no other fleet's parts. */
  static FleetMember member(FleetMember.Answers answers) {
    FleetMember member =
        new FleetMember(
            answers, ModelEndpoint.of("modelrunner-warm-up", ADDRESS), FleetEvent.Kind.CONNECTED);
    WarmUpModel model = new WarmUpModel();
    member.transport = model;
    member.connection = model;
    member.state = ModelStatus.State.CONNECTED;
    return member;
  }

  @Override
  public PreparedCall prepare(String methodName, Arguments arguments) {
    return PreparedCall.of(methodName, arguments);
  }

  @Override
  public ModelConnection connect(URI endpoint) {
    return this;
  }

  @Override
  public URI endpoint() {
    return ADDRESS;
  }

  @Override
  public CompletableFuture<Reply> call(PreparedCall call, Duration timeout) {
    return CompletableFuture.completedFuture(ANSWER);
  }

  @Override
  public CompletableFuture<Reply> setup(String className, Arguments arguments, Duration timeout) {
    return CompletableFuture.failedFuture(unsupported("setup"));
  }

  @Override
  public CompletableFuture<Reply> reset(Duration timeout) {
    return CompletableFuture.failedFuture(unsupported("reset"));
  }

  @Override
  public CompletableFuture<HealthStatus> checkHealth(Duration timeout) {
    return CompletableFuture.completedFuture(HealthStatus.SERVING);
  }

  private static TransportException unsupported(String request) {
    return new TransportException(
        TransportException.Kind.INTERNAL, "The warm-up model takes no " + request);
  }

  @Override
  public void close() {}
}
