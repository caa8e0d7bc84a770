package org.modelrunner.transport.grpc;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.modelrunner.spi.ModelTransport;
import org.modelrunner.spi.ProviderRegistry;
import org.modelrunner.spi.TransportProvider;
import org.modelrunner.spi.TransportSettings;

/** The provider: found by ServiceLoader, and harmless where grpc-java is missing. */
class GrpcTransportProviderTest {
  @Test
  void serviceLoaderFindsTheProviderOfTheGrpcScheme() {
    TransportProvider provider =
        ProviderRegistry.load(TransportProvider.class).providers().stream()
            .filter(candidate -> candidate.schemes().contains("grpc"))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no provider of grpc:// on the class path"));
    assertThat(provider).isInstanceOf(GrpcTransportProvider.class);
    assertThat(provider.isAvailable()).isTrue();
    assertThat(provider.unavailableReason()).isEqualTo("available");
    try (ModelTransport transport = provider.create(TransportSettings.defaults())) {
      assertThat(transport.connect(URI.create("grpc://127.0.0.1:1")).endpoint())
          .isEqualTo(URI.create("grpc://127.0.0.1:1"));
    }
  }

  @Test
  void theProviderLoadsWithoutGrpcAndSaysWhatIsMissing() throws Exception {
    ClassLoader withoutGrpc = new WithoutGrpc(GrpcTransportProviderTest.class.getClassLoader());
    Class<?> type = Class.forName(GrpcTransportProvider.class.getName(), true, withoutGrpc);
    assertThat(type.getClassLoader()).isSameAs(withoutGrpc);
    TransportProvider provider = (TransportProvider) type.getConstructor().newInstance();

    assertThat(provider.schemes()).containsExactly("grpc");
    assertThat(provider.isAvailable()).isFalse();
    assertThat(provider.unavailableReason())
        .contains(
            "io.grpc:grpc-api",
            "io.grpc:grpc-netty-shaded",
            "com.github.ben-manes.caffeine:caffeine");
    assertThatThrownBy(() -> provider.create(TransportSettings.defaults()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("needs grpc-java");
  }

  @Test
  void theProviderRefersToNoOptionalDependency() {
    JavaClasses provider = new ClassFileImporter().importClasses(GrpcTransportProvider.class);
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.grpc..", "com.google.protobuf..", "com.github.benmanes.caffeine..")
        .check(provider);
  }

  /**
   * Hides grpc-java, protobuf and Caffeine, and defines this module's classes itself (so that they
   * see only what it shows them); everything else comes from the parent.
   */
  private static final class WithoutGrpc extends ClassLoader {
    WithoutGrpc(ClassLoader parent) {
      super(parent);
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
      synchronized (getClassLoadingLock(name)) {
        if (name.startsWith("io.grpc.")
            || name.startsWith("com.google.protobuf.")
            || name.startsWith("com.github.benmanes.caffeine.")) {
          throw new ClassNotFoundException(name + " is hidden");
        }
        if (!name.startsWith("org.modelrunner.transport.grpc.")) {
          return super.loadClass(name, resolve);
        }
        Class<?> loaded = findLoadedClass(name);
        if (loaded == null) {
          String resource = name.replace('.', '/') + ".class";
          try (InputStream in = getParent().getResourceAsStream(resource)) {
            if (in == null) {
              throw new ClassNotFoundException(name);
            }
            byte[] bytes = in.readAllBytes();
            loaded = defineClass(name, bytes, 0, bytes.length);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
        if (resolve) {
          resolveClass(loaded);
        }
        return loaded;
      }
    }
  }

  @Test
  void aCoordinatorOnTheGrpcTransportGetsNeitherTheRunnerNorTheLoaderNorPicocli() {
    // This module's test class path is what a coordinator that depends on it gets (plus test
    // tools).
    for (String absent :
        List.of(
            "org.modelrunner.transport.grpc.GrpcRunner",
            "org.modelrunner.transport.grpc.RunnerMain",
            "org.modelrunner.loader.HostedModel",
            "org.apache.commons.cli.CommandLine")) {
      assertThatThrownBy(() -> Class.forName(absent))
          .as(absent)
          .isInstanceOf(ClassNotFoundException.class);
    }
  }
}
