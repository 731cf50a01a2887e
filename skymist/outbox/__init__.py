"""The outbox: side effects written with the state change that causes them, sent by the dispatcher."""
