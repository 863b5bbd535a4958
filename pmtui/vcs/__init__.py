"""Git isolation with dulwich: a worktree per task, commits, the serial merge queue."""
