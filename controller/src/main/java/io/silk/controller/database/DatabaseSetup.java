package io.silk.controller.database;

/** A step that brings the database to what this replica needs, run once it answers (after the migrations). */
public interface DatabaseSetup {
    /** Must be idempotent and safe with replicas running it at once. */
    void run();
}
