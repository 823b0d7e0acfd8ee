"""The topics of the deployment workflow and the infrastructure state FSM."""

TOPIC_DEPLOY_SERVICE = "onex.cmd.infra.deploy-service.v1"
TOPIC_DEPLOYMENT_PLANNED = "onex.evt.infra.deployment-planned.v1"
TOPIC_SERVICE_DEPLOYED = "onex.evt.infra.service-deployed.v1"
TOPIC_DEPLOYMENT_FAILED = "onex.evt.infra.deployment-failed.v1"
TOPIC_RECORD_INFRA_STATE = "onex.intent.infra.record-infrastructure-state.v1"
TOPIC_RAISE_ALERT = "onex.intent.infra.raise-alert.v1"

__all__ = [
    "TOPIC_DEPLOYMENT_FAILED",
    "TOPIC_DEPLOYMENT_PLANNED",
    "TOPIC_DEPLOY_SERVICE",
    "TOPIC_RAISE_ALERT",
    "TOPIC_RECORD_INFRA_STATE",
    "TOPIC_SERVICE_DEPLOYED",
]
