package io.silk.controller.database;

/** A step that brings the database to what this replica needs, run once it answers (after the migrations). */
public interface DatabaseSetup {
    /**
     * Must be idempotent and safe with replicas running it at once. {@code replacement}: the
     * database took the place of one this replica was using (lost and recreated, restored).
     */
    void run(boolean replacement);
}
