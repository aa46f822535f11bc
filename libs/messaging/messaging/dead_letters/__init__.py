"""Dead letters for ops: DLQ ingestion into ``failed_messages``, queries, replay, admin API."""
