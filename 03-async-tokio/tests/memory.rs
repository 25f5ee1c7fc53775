//! What an idle connection costs 03: its task's future, against a budget
//! that keeps the task at 640 bytes (see `conformance::memory`).

conformance::connection_task_budget!(async_tokio, 528);
