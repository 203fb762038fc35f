package io.silk.db.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import io.silk.testing.Eventually;
import io.silk.testing.StoppablePostgres;
import io.silk.testing.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The pool on a real PostgreSQL stopped and started under it, with no dedicated connection to tell
 * it the database is back (as in the policy server while no write gets through): it finds out by
 * itself and renews, rather than waiting out Hikari's reconnect backoff.
 */
class RenewablePoolTest {

    @Test
    void aPoolLeftWithoutConnectionsRenewsItselfOnceTheDatabaseAnswers() throws Exception {
        try (StoppablePostgres pg = StoppablePostgres.reserve("silk-pool").start(); RenewablePool pool = new RenewablePool(settings(pg))) {
            query(pool);
            String first = pool.current().getPoolName();

            pg.stop();
            // Callers keep asking while the database is away, long enough for Hikari's backoff to grow.
            long outageEnds = System.nanoTime() + TimeUnit.SECONDS.toNanos(6);
            while (System.nanoTime() < outageEnds) {
                assertThatThrownBy(() -> query(pool)).isInstanceOf(SQLException.class);
            }
            assertThat(pool.current().getPoolName()).as("not renewed while the database is away").isEqualTo(first);

            pg.start();
            Eventually.await("the pool renewed by its own probe", () -> !pool.current().getPoolName().equals(first));
            query(pool);
        }
    }

    private static HikariConfig settings(StoppablePostgres pg) {
        TestPostgres.Database db = pg.database();
        HikariConfig config = RenewablePool.settings("pool-test", db.url(), db.user(), db.password());
        config.setConnectionTimeout(500);
        // Hikari's own creator would also reconnect, when its backoff allows, to refill idle
        // connections, and could beat the probe to it (then nothing is renewed and the check
        // cannot tell). Without idle connections to keep, it connects only for a waiting caller, and
        // once the callers stop, the probe is the only way back: the check is of the probe alone.
        config.setMinimumIdle(0);
        return config;
    }

    private static void query(RenewablePool pool) throws SQLException {
        try (Connection c = pool.getConnection(); var s = c.createStatement()) {
            s.execute("SELECT 1");
        }
    }
}
