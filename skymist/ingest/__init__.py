"""Taking messages in: typed input models, the parser, the inbox and the Kafka consumer."""
