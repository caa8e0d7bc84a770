package org.modelrunner.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SubmissionFoldersTest {
  @Test
  void findsEveryExampleInTheOrderOfNames() {
    assertThat(Submissions.locate()).containsOnlyKeys(SubmissionFolders.NAMES);
    assertThat(Submissions.locate().keySet()).containsExactlyElementsOf(SubmissionFolders.NAMES);
  }

  @Test
  void missingFoldersSayHowToBuildThem(@TempDir Path models) throws Exception {
    Files.createDirectories(models.resolve("good/target/submission"));

    assertThatThrownBy(() -> SubmissionFolders.locate(models))
        .isInstanceOf(SubmissionFolders.MissingSubmissionsException.class)
        .hasMessageContaining(
            models.resolve("good/target/submission") + " holds no jar (nor do 4 others)")
        .hasMessageContaining(
            "Run the build first, from the project's root: ./mvnw -B -ntp -DskipTests install")
        .hasMessageContaining("--models-dir");
  }
}
