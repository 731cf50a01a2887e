"""Where outbox rows go. Each sink sends a batch and, after a crash, may verify an in-doubt send."""
