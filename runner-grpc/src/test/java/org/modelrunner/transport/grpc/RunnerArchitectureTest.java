package org.modelrunner.transport.grpc;

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

/** The gRPC runner applies the runner's rules through the shared core, not rules of its own. */
class RunnerArchitectureTest {
  private static JavaClasses production;

  @BeforeAll
  static void importClasses() {
    production =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("org.modelrunner.transport.grpc");
  }

  @Test
  void requestsReachTheModelThroughTheRunnerCoreOnly() {
    noClasses()
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
