package org.modelrunner.transport.grpc;

import io.grpc.Status;
import java.util.Locale;
import org.modelrunner.spi.StatusMessages;
import org.modelrunner.spi.TransportException;
import org.modelrunner.spi.TransportException.Kind;

/**
 * Turns gRPC statuses into {@link TransportException}s. Only transport-level failures are gRPC
 * errors (the runner's application outcomes arrive as {@code OK} with a {@code Status} message, and
 * become replies):
 *
 * <table>
 *   <caption>gRPC status to kind</caption>
 *   <tr><th>gRPC status</th><th>kind</th></tr>
 *   <tr><td>{@code RESOURCE_EXHAUSTED} with {@code Server busy}</td><td>{@link Kind#BUSY}</td></tr>
 *   <tr><td>other {@code RESOURCE_EXHAUSTED} (a message over a size limit)</td>
 *       <td>{@link Kind#MESSAGE_TOO_LARGE}</td></tr>
 *   <tr><td>{@code DEADLINE_EXCEEDED}</td><td>{@link Kind#DEADLINE_EXCEEDED}</td></tr>
 *   <tr><td>{@code UNAVAILABLE}</td><td>{@link Kind#UNAVAILABLE}</td></tr>
 *   <tr><td>{@code UNAUTHENTICATED}</td><td>{@link Kind#UNAUTHENTICATED}</td></tr>
 *   <tr><td>a call whose answer failed secure mode's identity check</td>
 *       <td>{@link Kind#AUTHENTICATION_FAILED}</td></tr>
 *   <tr><td>{@code CANCELLED}</td><td>{@link Kind#CANCELLED}</td></tr>
 *   <tr><td>any other</td><td>{@link Kind#INTERNAL}</td></tr>
 * </table>
 *
 * <p>The message keeps gRPC's code and description, and the message of the underlying exception
 * (such as {@code Connection refused}), and says which request to which endpoint failed.
 */
final class GrpcFailures {
  /** The runner's description of a request rejected because another one runs (PROTOCOL §1.4). */
  static final String SERVER_BUSY = StatusMessages.SERVER_BUSY;

  /** What precedes the runner's description when it refused the coordinator's credentials. */
  static final String REFUSED = "The credentials you are refused by the Model Node => ";

  private GrpcFailures() {}

  /** Returns the kind of failure a non-OK gRPC status means. */
  static Kind kindOf(Status status) {
    return switch (status.getCode()) {
      case RESOURCE_EXHAUSTED -> isBusy(status) ? Kind.BUSY : Kind.MESSAGE_TOO_LARGE;
      case DEADLINE_EXCEEDED -> Kind.DEADLINE_EXCEEDED;
      case UNAVAILABLE -> Kind.UNAVAILABLE;
      case UNAUTHENTICATED -> Kind.UNAUTHENTICATED;
      case CANCELLED -> Kind.CANCELLED;
      default -> Kind.INTERNAL;
    };
  }

  private static boolean isBusy(Status status) {
    String description = status.getDescription();
    return description != null
        && description.toLowerCase(Locale.ROOT).contains(SERVER_BUSY.toLowerCase(Locale.ROOT));
  }

  /**
   * Returns the exception for a non-OK status: {@code <request> on <endpoint>: <CODE>:
   * <description>}.
   *
   * @param request what failed, such as {@code call predict}
   */
  static TransportException of(Status status, String request, Object endpoint) {
    if (status.getCause() instanceof ServerIdentityCheck.AuthenticationFailure failure) {
      return new TransportException(
          Kind.AUTHENTICATION_FAILED,
          request
              + " on "
              + endpoint
              + ": AUTHENTICATION_FAILED: the runner's identity failed verification: "
              + failure.getMessage(),
          failure);
    }
    if (status.getCode() == Status.Code.UNAUTHENTICATED) {
      // The Python client's words for a runner that refused the coordinator (PROTOCOL-SECURITY
      // §A.5), so that both read the same in logs and in reports.
      return new TransportException(
          Kind.UNAUTHENTICATED,
          request + " on " + endpoint + ": UNAUTHENTICATED: " + REFUSED + describe(status),
          status.getCause());
    }
    return new TransportException(
        kindOf(status),
        request + " on " + endpoint + ": " + status.getCode() + ": " + describe(status),
        status.getCause());
  }

  /**
   * Describes a status for a message: its description and, if it has a cause, the cause's message
   * (gRPC's generic description of a network error, {@code io exception}, is left out when the
   * cause says more).
   */
  static String describe(Status status) {
    String description = status.getDescription();
    Throwable cause = status.getCause();
    String causeMessage = cause == null ? null : rootMessage(cause);
    boolean hasDescription = description != null && !description.isBlank();
    if (causeMessage == null) {
      return hasDescription ? description : "(no description)";
    }
    if (!hasDescription || description.equalsIgnoreCase("io exception")) {
      return causeMessage;
    }
    return description.contains(causeMessage) ? description : description + ": " + causeMessage;
  }

  /**
   * Returns the message of the innermost cause that has one (or the class name of the outermost).
   */
  private static String rootMessage(Throwable throwable) {
    String message = null;
    int depth = 0;
    for (Throwable t = throwable; t != null && depth < 16; t = t.getCause(), depth++) {
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        message = t.getMessage();
      }
    }
    return message != null ? message : throwable.getClass().getName();
  }
}
