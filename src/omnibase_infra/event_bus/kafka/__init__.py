"""The Kafka event bus: EventBusKafka (bus), its producer, consumer, admin client, error
translation, client logging and settings.
"""
