package io.silk.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.silk.testing.TestPostgres.Source;
import org.junit.jupiter.api.Test;

class TestPostgresTest {

    @Test
    void aGivenUrlWinsWhetherOrNotDockerAnswers() {
        assertThat(TestPostgres.select("jdbc:postgresql://db:5432/postgres", true, "unix:///var/run/docker.sock").source())
                .isEqualTo(Source.URL);
        assertThat(TestPostgres.select("jdbc:postgresql://db:5432/postgres", false, "none").source()).isEqualTo(Source.URL);
    }

    @Test
    void withoutAUrlTestcontainersWhenDockerAnswers() {
        var s = TestPostgres.select(null, true, "unix:///var/run/docker.sock");
        assertThat(s.source()).isEqualTo(Source.TESTCONTAINERS);
        assertThat(s.reason()).contains("unix:///var/run/docker.sock");
        assertThat(TestPostgres.select("  ", true, "tcp://docker:2375").source()).isEqualTo(Source.TESTCONTAINERS);
    }

    @Test
    void otherwiseEmbeddedAndSaysWhy() {
        var s = TestPostgres.select(null, false, "no DOCKER_HOST and no Docker socket");
        assertThat(s.source()).isEqualTo(Source.EMBEDDED);
        assertThat(s.reason()).isEqualTo("no Docker engine answered: no DOCKER_HOST and no Docker socket");
        assertThat(TestPostgres.select("", false, "x").source()).isEqualTo(Source.EMBEDDED);
    }

    @Test
    void aDatabaseOfItsOwnOnWhicheverServerWasSelected() throws Exception {
        var a = TestPostgres.newDatabase();
        var b = TestPostgres.newDatabase();
        assertThat(a.url()).isNotEqualTo(b.url());
        try (var c = a.connect(); var s = c.createStatement(); var r = s.executeQuery("SELECT current_database()")) {
            assertThat(r.next()).isTrue();
            assertThat(a.url()).contains("/" + r.getString(1));
        }
    }
}
