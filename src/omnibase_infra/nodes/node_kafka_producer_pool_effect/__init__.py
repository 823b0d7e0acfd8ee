"""node_kafka_producer_pool_effect: shared Kafka producers with health and a circuit breaker."""

from omnibase_infra.nodes.node_kafka_producer_pool_effect.model_kafka_producer_pool_input import (
    ModelKafkaProducerPoolInput,
)
from omnibase_infra.nodes.node_kafka_producer_pool_effect.model_kafka_producer_pool_output import (
    ModelKafkaProducerPoolOutput,
)
from omnibase_infra.nodes.node_kafka_producer_pool_effect.model_kafka_producer_pool_stats import (
    ModelKafkaProducerPoolStats,
)
from omnibase_infra.nodes.node_kafka_producer_pool_effect.pool import KafkaProducerPool

__all__ = [
    "KafkaProducerPool",
    "ModelKafkaProducerPoolInput",
    "ModelKafkaProducerPoolOutput",
    "ModelKafkaProducerPoolStats",
]
