//! What an idle connection costs 04: its task's future, against a budget
//! that keeps the task at 768 bytes (see `conformance::memory`).

conformance::connection_task_budget!(hybrid_blocking, 648);
