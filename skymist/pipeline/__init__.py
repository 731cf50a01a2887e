"""What happens to a parsed message: one handler per message kind, registered by decorator."""
