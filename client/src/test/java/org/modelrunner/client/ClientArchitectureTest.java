package org.modelrunner.client;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The client depends on the SPI only and finds transports through ServiceLoader. */
class ClientArchitectureTest {
  private static final JavaClasses CLIENT =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("org.modelrunner.client");

  @Test
  void theClientSeesNoTransportAndNoLoader() {
    noClasses()
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.grpc..",
            "com.google.protobuf..",
            "org.modelrunner.transport..",
            "org.modelrunner.loader..")
        .check(CLIENT);
  }

  @Test
  void noPartOfTheFleetCallsBackIntoTheFacade() {
    noClasses()
        .that()
        .haveNameNotMatching("org\\.modelrunner\\.client\\.ModelFleet(\\$.*)?")
        .should()
        .dependOnClassesThat()
        .haveFullyQualifiedName("org.modelrunner.client.ModelFleet")
        .check(CLIENT);
  }

  @Test
  void noPartOfTheDirectoryCallsBackIntoIt() {
    noClasses()
        .that()
        .haveNameNotMatching("org\\.modelrunner\\.client\\.OrchestratorDirectory(\\$.*)?")
        .should()
        .dependOnClassesThat()
        .haveFullyQualifiedName("org.modelrunner.client.OrchestratorDirectory")
        .check(CLIENT);
  }

  @Test
  void theClientsPackagesHaveNoCycles() {
    com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices()
        .matching("org.modelrunner.client.(**)")
        .should()
        .beFreeOfCycles()
        .allowEmptyShould(true)
        .check(CLIENT);
  }

  @Test
  void queuesStayInsideTheClient() {
    noClasses()
        .that()
        .arePublic()
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("org.jctools..")
        .check(CLIENT);
  }
}
