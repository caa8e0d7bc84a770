package org.modelrunner.transport.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Parsing {@code grpc://host:port} endpoints. */
class GrpcAddressTest {
  @ParameterizedTest(name = "{0}")
  @CsvSource({
    "grpc://127.0.0.1:50051,     127.0.0.1,     50051, 127.0.0.1:50051",
    "grpc://10.0.0.5:1/,         10.0.0.5,      1,     10.0.0.5:1",
    "GRPC://Model-Host.Example:65535, model-host.example, 65535, model-host.example:65535",
    "grpc://[::1]:50051,         ::1,           50051, [::1]:50051",
    "grpc://[2001:DB8::7]:443,   2001:db8::7,   443,   [2001:db8::7]:443",
  })
  void parsesHostAndPort(String endpoint, String host, int port, String authority) {
    GrpcAddress address = GrpcAddress.parse(URI.create(endpoint));
    assertThat(address).isEqualTo(new GrpcAddress(host, port));
    assertThat(address.authority()).isEqualTo(authority);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "grpc://127.0.0.1", "grpc://host:0", "grpc://host:70000", "grpc:host:1", "grpc:///path",
        "grpc://user@host:1", "grpc://host:1/path", "grpc://host:1?q=1", "grpc://host:1#f",
            "grpc://bad_host:1",
        "grpc://[::1]"
      })
  void rejectsMalformedEndpoints(String endpoint) {
    assertThatThrownBy(() -> GrpcAddress.parse(URI.create(endpoint)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("grpc://host:port");
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"inproc://alice", "http://host:1", "host:1"})
  void rejectsOtherSchemes(String endpoint) {
    assertThatThrownBy(() -> GrpcAddress.parse(URI.create(endpoint)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("serves grpc://host:port endpoints");
  }
}
