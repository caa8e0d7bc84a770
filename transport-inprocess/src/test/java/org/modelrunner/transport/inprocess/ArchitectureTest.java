package org.modelrunner.transport.inprocess;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaMethodCall;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.modelrunner.loader.HostedModel;

/** The layering of DESIGN.md for this module, and its small public surface. */
class ArchitectureTest {
  private static final String PACKAGE = "org.modelrunner.transport.inprocess";
  private static JavaClasses production;

  @BeforeAll
  static void importClasses() {
    production =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages(PACKAGE);
  }

  @Test
  void dependsOnTheSpiAndTheLoaderOnly() {
    noClasses()
        .that()
        .resideInAPackage(PACKAGE + "..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("org.modelrunner.client..", "io.grpc..", "com.google.protobuf..")
        .check(production);
  }

  @Test
  void onlyTheRegistryTheHandleFaultsAndTheProviderArePublic() {
    classes()
        .that()
        .resideInAPackage(PACKAGE)
        .and()
        .areTopLevelClasses()
        .and()
        .doNotHaveSimpleName("InProcessModels")
        .and()
        .doNotHaveSimpleName("InProcessRunner")
        .and()
        .doNotHaveSimpleName("Faults")
        .and()
        .doNotHaveSimpleName("InProcessTransportProvider")
        .should()
        .notBePublic()
        .check(production);
  }

  @Test
  void requestsReachTheModelThroughTheRunnerCoreOnly() {
    noClasses()
        .that()
        .resideInAPackage(PACKAGE + "..")
        .should()
        .callMethodWhere(
            new DescribedPredicate<JavaMethodCall>(
                "a request method of HostedModel (setup, call, reset) outside RunnerCore's claim") {
              @Override
              public boolean test(JavaMethodCall call) {
                return call.getTargetOwner().isEquivalentTo(HostedModel.class)
                    && Set.of("setup", "call", "reset").contains(call.getName());
              }
            })
        .check(production);
  }
}
